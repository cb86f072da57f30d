// The HTTP plumbing of the local server (server.ts): the headers every response carries, JSON
// replies and one-line errors, request targets split into checked path segments (no traversal in
// any encoding), JSON bodies read up to a limit, and files served from a folder without leaving it.
// Not for: routes (server.ts) or what they compute (runs.ts, models.ts).

import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/** An answer other than 2xx, with its one-line message: `throw new HttpError(404, 'no run "x"')`. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/**
 * On every response: cross-origin isolation (COOP + COEP, which the page needs for the wasm
 * backend's shared memory and worker pool), resources for this origin only, no MIME sniffing.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};

/** The longest request target answered; beyond it 414 (Node itself refuses request lines and headers over 16 KiB with 431). */
export const MAX_TARGET = 2048;
/** The largest request body read, 1 MiB. */
export const MAX_BODY = 2 ** 20;

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** `{ "error": "..." }`, the message cut to its first line. */
export function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: message.split('\n')[0] }, headers);
}

export interface Target {
  /** The path's segments, each percent-decoded and checked (a trailing '' when the path ends with '/'). */
  segments: string[];
  query: URLSearchParams;
}

/**
 * A request target (`/a/b%20c?x=1`) as checked segments. Refused with 400: anything but a path
 * (absolute-form URLs, `*`), malformed percent-encoding, and any segment that is empty (but the
 * last), `.` or `..`, or holds `/`, `\` or NUL once decoded (encoded traversal: `%2e%2e`, `..%2f`,
 * `%5c`, `%00`). Nothing is normalised: `/a/../b` is refused, never read as `/b`.
 */
export function parseTarget(url: string): Target {
  if (url.length > MAX_TARGET) throw new HttpError(414, `the request target is ${url.length} characters long, more than the ${MAX_TARGET} this server reads`);
  if (!url.startsWith('/')) throw new HttpError(400, 'the request target must be a path starting with /');
  const q = url.indexOf('?');
  const raw = (q < 0 ? url : url.slice(0, q)).slice(1).split('/');
  const segments = raw.map((s, i) => {
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      throw new HttpError(400, `the path has malformed percent-encoding in "${s.slice(0, 40)}"`);
    }
    if (d === '' && i < raw.length - 1) throw new HttpError(400, 'the path has an empty segment (//)');
    if (d === '.' || d === '..' || /[/\\\0]/.test(d)) throw new HttpError(400, `the path segment ${JSON.stringify(d.slice(0, 40))} is not allowed`);
    return d;
  });
  // URLSearchParams decodes leniently (a stray % stays as it is): each parameter's value is checked where it is used.
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  return { segments: segments.length === 1 && segments[0] === '' ? [] : segments, query };
}

/**
 * A request's JSON body: `Content-Type: application/json` (which also makes a browser ask before
 * another site's page may post here), at most MAX_BODY bytes: a larger declared length is refused
 * before anything is read, and a body that grows past it is refused at the limit.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new HttpError(415, `the body must be JSON sent with Content-Type: application/json${type ? `, got ${type.slice(0, 60)}` : ''}`);
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge = () => new HttpError(413, `the body is larger than ${MAX_BODY} bytes`, { Connection: 'close' });
  if (declared > MAX_BODY) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the body is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8', '.safetensors': 'application/octet-stream',
};

/** The content type of a file served by its extension, or undefined for a kind this server does not serve. */
export const contentType = (file: string): string | undefined => CONTENT_TYPES[path.extname(file).toLowerCase()];

/**
 * The real path of `root/...segments` if it is a regular file inside `root` (after following
 * links: a link leading out of the folder is not served) and not hidden (no segment starts with
 * '.'); null otherwise. The segments come from parseTarget, so none holds a separator.
 */
export function fileInside(root: string, segments: string[]): string | null {
  if (segments.length === 0 || segments.some((s) => s === '' || s.startsWith('.'))) return null;
  try {
    const top = fs.realpathSync(root);
    const real = fs.realpathSync(path.join(top, ...segments));
    const rel = path.relative(top, real);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
    return fs.statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

/** Sends a file with its content type; `cache` is its Cache-Control. */
export async function sendFile(res: ServerResponse, file: string, type: string, cache: string, head: boolean): Promise<void> {
  const body = await fs.promises.readFile(file);
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': cache });
  res.end(head ? undefined : body);
}
