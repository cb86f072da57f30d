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
import { writeFileAtomic } from './files.js';
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
  optimizerState?: { iterations: number; slots: Record<string, Float32Array> };
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
    optimizerState: optimizer?.getState(),
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

export function readCheckpoint(dir: string): CheckpointContents {
  check(fs.existsSync(dir), `no such checkpoint: ${dir}`);
  const file = fs.statSync(dir).isDirectory() ? path.join(dir, MODEL_FILE) : dir;
  check(fs.existsSync(file), `${dir} is not a tsgrad checkpoint: ${MODEL_FILE} is missing`);
  const json = checkModelJson(fs.readFileSync(file, 'utf8'), file);
  const weightsPath = path.join(path.dirname(file), weightsFileOf(json));
  check(fs.existsSync(weightsPath), `${file}: its weights file ${weightsPath} is missing`);
  return decodeCheckpoint(json, loadSafetensors(weightsPath), file, weightsPath);
}

/**
 * Reads a checkpoint over HTTP (in a browser, or in Node): `url` is the checkpoint folder's or
 * its model.json's address; the weights file is fetched next to it.
 */
export async function fetchCheckpoint(url: string): Promise<CheckpointContents> {
  const file = url.endsWith('.json') ? url : `${url.replace(/\/$/, '')}/${MODEL_FILE}`;
  const json = checkModelJson(await (await fetchOk(file)).text(), file);
  const weightsUrl = new URL(weightsFileOf(json), new URL(file, globalThis.location?.href)).href;
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

/** model.json's text, parsed and checked to be a checkpoint of this format version. */
function checkModelJson(text: string, file: string): Record<string, unknown> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TsgradError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  check(json && typeof json === 'object' && json.format === CHECKPOINT_FORMAT,
    `${file}: not a tsgrad checkpoint (expected "format": "${CHECKPOINT_FORMAT}")`);
  check(json.formatVersion === CHECKPOINT_VERSION,
    `${file}: checkpoint format version ${json.formatVersion} is not supported (this tsgrad reads version ${CHECKPOINT_VERSION})`);
  check(Array.isArray(json.weights), `${file}: "weights" must be a list`);
  return json;
}

/** The weights file's name (a bare name: never a path out of the folder). */
function weightsFileOf(json: Record<string, unknown>): string {
  return typeof json.weightsFile === 'string' ? json.weightsFile.split(/[\\/]/).pop()! : WEIGHTS_FILE;
}

/** The checkpoint that model.json and its decoded weights file describe. */
function decodeCheckpoint(json: Record<string, unknown>, { tensors, metadata }: SafetensorsContents, file: string, weightsPath: string): CheckpointContents {
  const weights = (json.weights as { name?: unknown; shape?: unknown }[]).map((w) => {
    check(typeof w?.name === 'string', `${file}: a weight entry has no name`);
    const t = tensors[w.name];
    check(t, `${weightsPath}: weight "${w.name}" is missing`);
    check(t.dtype === 'float32', `${weightsPath}: weight "${w.name}" must be F32`);
    return { name: w.name, shape: t.shape, data: t.data as Float32Array };
  });
  const slots: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('optimizer/')) slots[k.slice(10)] = t.data as Float32Array;
  const iterations = Number(metadata.optimizer_iterations);
  return {
    modelConfig: json.modelConfig,
    trainingConfig: json.trainingConfig ?? null,
    weights,
    ...(Number.isInteger(iterations) ? { optimizerState: { iterations, slots } } : {}),
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
