// Process-wide engine state: which backend allocates and computes, and whether ops record the
// graph for autograd. Kept tiny and in one place so the rest of the code stays pure.

import type { Backend } from '../backend/backend.js';
import { refBackend } from '../backend/ref/index.js';

let backend: Backend = refBackend;
let recording = true;

export function getBackend(): Backend {
  return backend;
}

/** Selects the backend for tensors created from now on. */
export function setBackend(b: Backend): void {
  backend = b;
}

export function isRecording(): boolean {
  return recording;
}

/** Runs `fn` without recording the graph: for inference and for optimizer updates. */
export function noGrad<T>(fn: () => T): T {
  const saved = recording;
  recording = false;
  try {
    return fn();
  } finally {
    recording = saved;
  }
}
