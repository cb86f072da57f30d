// Types of worker-loop.js (plain JavaScript): the pool's control-block protocol and the workers' loop.
import type { WorkerData } from './loader.js';

export declare const GEN: number, DONE: number, FN: number, ARGC: number, CHUNKS: number, FAILED: number, RANGE: number, STOP: number;
export declare const MAX_THREADS: number;
export declare const OFFSET: number;
export declare function claim(ctrl: Int32Array, owner: number, self: number): number;
export declare function runKernels(data: WorkerData, ready: () => void): void;
