// The checkpoint folder format: `model.json` (format version, architecture config, training
// config) and `weights.safetensors` (the weights, then optimizer slots under `optimizer/`).
// Both files are written to temporary names and renamed, so a crash never leaves half a checkpoint.
// saveModel writes any model of the contract in nn/model.ts, with what training adds to it (the
// optimizer's moments, a training config, a language model's tokenizer).
// Not for: turning configs back into models (src/models/load.ts does that).

import fs from 'node:fs';
import path from 'node:path';
import { check, TsgradError } from '../core/errors.js';
import { formatShape, sameShape } from '../core/shape.js';
import type { TokenizerJSON } from '../data/tokenizer.js';
import type { Model } from '../nn/model.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';
import { Doc, parseJson } from '../core/validate.js';
import { writeFileAtomic } from './files.js';
import { readInputFile } from '../core/files.js';
import { decodeSafetensors, loadSafetensors, saveSafetensors, type SafetensorsContents } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'tsgrad-checkpoint';
export const CHECKPOINT_VERSION = 1;
const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.safetensors';

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface CheckpointContents {
  /** `{className, config, tokenizer?}`, validated by whoever rebuilds the model. */
  modelConfig: unknown;
  trainingConfig: unknown;
  weights: NamedArray[];
  optimizerState?: {
    /** The optimizer's step count. */
    iterations: number;
    /** Its per-parameter moments, keyed `<slot>/<index>`. */
    slots: Record<string, Float32Array>;
  };
  /** modelConfig and trainingConfig as read from a file, for validation errors that name it and the field. */
  docs?: { model: Doc; training: Doc };
}

/** A model as saveModel takes it: a compiled one (Sequential) carries its optimizer and training config; one built lazily is built first. */
type Saved = Model & { readonly optimizer?: Optimizer | null; readonly trainingConfig?: object | null; build?(): void };

export interface SaveExtras {
  /** Whose moments to keep (default: the model's own, if compiled). */
  optimizer?: Optimizer | null;
  /** How the model was trained (default: the model's own training config, if compiled). */
  training?: object | null;
  /** A language model's tokenizer, kept in model.json next to the model's config. */
  tokenizer?: TokenizerJSON;
}

/** Writes any model as a checkpoint folder (`dir/model.json`, `dir/weights.safetensors`); loadModel reads it back. */
export function saveModel(model: Saved, dir: string, extras: SaveExtras = {}): void {
  model.build?.();
  const optimizer = extras.optimizer ?? model.optimizer;
  writeCheckpoint(dir, {
    modelConfig: { className: model.className, config: model.getConfig(), ...(extras.tokenizer && { tokenizer: extras.tokenizer }) },
    trainingConfig: extras.training ?? model.trainingConfig ?? null,
    weights: model.weights.map((w) => ({ name: w.name, shape: [...w.value.shape], data: w.value.raw as Float32Array })),
    optimizerState: optimizer?.getState({ views: true }), // written at once: no copy needed
  });
}

export function writeCheckpoint(dir: string, c: CheckpointContents): void {
  fs.mkdirSync(dir, { recursive: true });
  const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  for (const w of c.weights) tensors[w.name] = { dtype: 'float32', shape: w.shape, data: w.data };
  for (const [k, v] of Object.entries(c.optimizerState?.slots ?? {})) {
    tensors[`optimizer/${k}`] = { dtype: 'float32', shape: [v.length], data: v };
  }
  const metadata = c.optimizerState ? { optimizer_iterations: String(c.optimizerState.iterations) } : undefined;
  saveSafetensors(path.join(dir, WEIGHTS_FILE), tensors, metadata);
  const json = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_VERSION,
    modelConfig: c.modelConfig,
    trainingConfig: c.trainingConfig,
    weightsFile: WEIGHTS_FILE,
    weights: c.weights.map((w) => ({ name: w.name, shape: w.shape })),
  };
  const file = path.join(dir, MODEL_FILE);
  writeFileAtomic(file, JSON.stringify(json, null, 2) + '\n');
}

/** The largest model.json read (a config and a list of weights; the tokenizer of a language model). */
const MAX_MODEL_JSON = 256 * 2 ** 20;
const MAX_WEIGHTS = 1_000_000;

export function readCheckpoint(dir: string): CheckpointContents {
  check(fs.existsSync(dir), `no such checkpoint: ${dir}`);
  const isDir = fs.statSync(dir).isDirectory();
  const folder = isDir ? dir : path.dirname(dir);
  const file = isDir ? path.join(dir, MODEL_FILE) : dir;
  check(fs.existsSync(file), `${dir} is not a tsgrad checkpoint: ${MODEL_FILE} is missing`);
  if (isDir) checkInside(file, folder);
  const json = checkModelJson(readInputFile(file, MAX_MODEL_JSON, 'model.json').toString('utf8'), file);
  const weightsPath = path.join(folder, json.weightsFile);
  check(fs.existsSync(weightsPath), `${file}: its weights file ${weightsPath} is missing`);
  checkInside(weightsPath, folder);
  return decodeCheckpoint(json, loadSafetensors(weightsPath), file, weightsPath);
}

/**
 * Refuses a file of the checkpoint that is a link leading out of its folder: tsgrad never reads
 * (nor quotes in an error) the bytes of a file the checkpoint only points to.
 */
function checkInside(file: string, folder: string): void {
  const real = fs.realpathSync(file);
  const root = fs.realpathSync(folder);
  const rel = path.relative(root, real);
  check(rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel),
    `${file}: is a link out of the checkpoint folder ${folder}; tsgrad does not follow it (copy the file in instead)`);
}

/**
 * Reads a checkpoint over HTTP (in a browser, or in Node): `url` is the checkpoint folder's or
 * its model.json's address; the weights file is fetched next to it.
 */
export async function fetchCheckpoint(url: string): Promise<CheckpointContents> {
  const file = url.endsWith('.json') ? url : `${url.replace(/\/$/, '')}/${MODEL_FILE}`;
  const text = await (await fetchOk(file)).text();
  check(text.length <= MAX_MODEL_JSON, `${file}: ${text.length} characters, more than the ${MAX_MODEL_JSON} a model.json may have`);
  const json = checkModelJson(text, file);
  const weightsUrl = new URL(json.weightsFile, new URL(file, globalThis.location?.href)).href;
  const bytes = new Uint8Array(await (await fetchOk(weightsUrl)).arrayBuffer());
  return decodeCheckpoint(json, decodeSafetensors(bytes, weightsUrl), file, weightsUrl);
}

async function fetchOk(url: string): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new TsgradError(`${url}: cannot fetch (${(e as Error).message})`);
  }
  check(r.ok, `${url}: HTTP ${r.status} ${r.statusText}`);
  return r;
}

/** What model.json says, checked: the format, the weights file's name and the weights listed. */
interface ModelJson {
  doc: Doc;
  weightsFile: string;
  weights: { name: string; shape: number[] }[];
}

/** model.json's text, parsed and checked to be a checkpoint of this format version. */
function checkModelJson(text: string, file: string): ModelJson {
  const doc = parseJson(text, file);
  const top = doc.value;
  check(top !== null && typeof top === 'object' && !Array.isArray(top) && (top as Record<string, unknown>).format === CHECKPOINT_FORMAT,
    `${file}: not a tsgrad checkpoint (expected "format": "${CHECKPOINT_FORMAT}")`);
  const version = doc.at('formatVersion');
  if (version.value !== CHECKPOINT_VERSION) {
    version.fail(`${JSON.stringify(version.value ?? null)} is not supported (this tsgrad reads version ${CHECKPOINT_VERSION})`);
  }
  doc.at('modelConfig').object();
  const wf = doc.at('weightsFile');
  const weightsFile = wf.present ? wf.string() : WEIGHTS_FILE;
  // A bare name in the same folder: never a path out of it.
  if (!/^[^\\/]+$/.test(weightsFile) || weightsFile === '.' || weightsFile === '..') wf.fail(`must be a file name in the checkpoint's folder, got ${JSON.stringify(weightsFile.slice(0, 80))}`);
  const names = new Set<string>();
  const weights = doc.at('weights').array({ max: MAX_WEIGHTS }).map((w) => {
    w.object();
    const name = w.at('name').string();
    if (name.length === 0 || name.startsWith('optimizer/')) w.at('name').fail(`is not a weight name: ${JSON.stringify(name)}`);
    if (names.has(name)) w.at('name').fail(`${JSON.stringify(name)} is listed twice`);
    names.add(name);
    // A scalar weight has shape []; a dimension of 0 is never a weight tsgrad writes.
    return { name, shape: w.at('shape').shape({ maxRank: 8 }) };
  });
  return { doc, weightsFile, weights };
}

/** Throws unless every value of `data` is finite (a NaN or infinite weight is silent garbage later). */
function checkFinite(data: Float32Array, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new TsgradError(`${what} holds ${data[i]} at index ${i}: weights must be finite numbers`);
  }
}

/** The checkpoint that model.json and its decoded weights file describe, every tensor checked against the list. */
function decodeCheckpoint(json: ModelJson, { tensors, metadata }: SafetensorsContents, file: string, weightsPath: string): CheckpointContents {
  const weights = json.weights.map((w) => {
    const t = Object.hasOwn(tensors, w.name) ? tensors[w.name] : undefined;
    check(t, `${weightsPath}: weight "${w.name}" is missing`);
    check(t.dtype === 'float32', `${weightsPath}: weight "${w.name}" must be F32`);
    check(sameShape(t.shape, w.shape), `${weightsPath}: weight "${w.name}" has shape ${formatShape(t.shape)}, ${file} lists ${formatShape(w.shape)}`);
    checkFinite(t.data as Float32Array, `${weightsPath}: weight "${w.name}"`);
    return { name: w.name, shape: w.shape, data: t.data as Float32Array };
  });
  const listed = new Set(json.weights.map((w) => w.name));
  const slots: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (listed.has(k)) continue;
    check(k.startsWith('optimizer/'), `${weightsPath}: tensor "${k}" is not a weight ${file} lists`);
    check(t.dtype === 'float32' && t.shape.length === 1, `${weightsPath}: optimizer slot "${k}" must be an F32 vector`);
    checkFinite(t.data as Float32Array, `${weightsPath}: optimizer slot "${k}"`);
    slots[k.slice(10)] = t.data as Float32Array;
  }
  const it = metadata.optimizer_iterations;
  check(it === undefined || /^(0|[1-9]\d{0,14})$/.test(it), `${weightsPath}: metadata optimizer_iterations must be a non-negative integer, got ${JSON.stringify(String(it).slice(0, 40))}`);
  check(it !== undefined || Object.keys(slots).length === 0, `${weightsPath}: has optimizer slots but no optimizer_iterations in its metadata`);
  const doc = json.doc;
  return {
    modelConfig: doc.at('modelConfig').value,
    trainingConfig: doc.at('trainingConfig').value ?? null,
    weights,
    ...(it !== undefined ? { optimizerState: { iterations: Number(it), slots } } : {}),
    docs: { model: doc.at('modelConfig'), training: doc.at('trainingConfig') },
  };
}

/**
 * Copies a checkpoint's arrays into a model's weights, matched by name: every weight must be there
 * with its shape, and nothing else (`where` names the checkpoint in the errors).
 */
export function assignWeights(weights: readonly { name: string; value: Tensor }[], stored: readonly NamedArray[], where: string): void {
  const byName = new Map(stored.map((w) => [w.name, w]));
  check(byName.size === weights.length, `${where}: the checkpoint has ${byName.size} weights but its model has ${weights.length}`);
  for (const w of weights) {
    const s = byName.get(w.name);
    check(s, `${where}: weight "${w.name}" is missing`);
    check(sameShape(s.shape, w.value.shape), `${where}: weight "${w.name}" has shape ${formatShape(s.shape)}, the model needs ${formatShape(w.value.shape)}`);
    w.value.raw.set(s.data);
  }
}
