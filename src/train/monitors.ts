// Keras's standard callbacks that act on the model during fit(): early stopping, checkpoints on
// improvement, and learning-rate control per epoch (a function of the epoch, or cut on a plateau).
// Each watches a logged quantity with Keras's rules; fit() hands them the model via setModel().
// Per-step learning-rate schedules are not here: they belong to the optimizer (src/optim/schedules.ts).

import { check } from '../core/errors.js';
import type { Callback, CallbackModel, Logs } from './callbacks.js';

/**
 * Which way a monitored quantity improves: `min` (lower is better, losses), `max` (higher is
 * better) or `auto`, which decides from the name as Keras 2: maximised when it contains "acc"
 * (any case), minimised otherwise.
 */
export type MonitorMode = 'auto' | 'min' | 'max';

/**
 * Whether `current` improves on `best` by more than minDelta. In 'auto' mode a quantity whose name
 * contains "acc" (any case) is maximised and anything else (losses) minimised, Keras 2's rule.
 */
function improvement(monitor: string, mode: MonitorMode, minDelta: number): { better: (current: number, best: number) => boolean; worst: number } {
  check(mode === 'auto' || mode === 'min' || mode === 'max', `mode must be 'auto', 'min' or 'max', got ${JSON.stringify(mode)}`);
  const d = Math.abs(minDelta);
  return mode === 'max' || (mode === 'auto' && /acc/i.test(monitor))
    ? { better: (c, b) => c - d > b, worst: -Infinity }
    : { better: (c, b) => c + d < b, worst: Infinity };
}

function needModel(model: CallbackModel | null, who: string): CallbackModel {
  check(model, `${who} needs the model: pass it to fit() in callbacks, or call setModel(model) first`);
  return model;
}

function needOptimizer(model: CallbackModel | null, who: string) {
  const { optimizer } = needModel(model, who);
  check(optimizer, `${who} needs a compiled model (it changes the optimizer's learning rate)`);
  return optimizer;
}

function monitored(logs: Logs, monitor: string, who: string): number | undefined {
  const v = logs[monitor];
  // Keras warns and carries on; a missing quantity here is almost always a typo or no validation data.
  if (v === undefined) console.warn(`${who}: "${monitor}" is not in the logs (${Object.keys(logs).join(', ')}), skipping`);
  return v;
}

/** The options of {@link EarlyStopping}, with Keras's names and defaults. */
export interface EarlyStoppingConfig {
  /** The logged quantity to watch (default `val_loss`). */
  monitor?: string;
  /** Smaller changes than this do not count as improvement. */
  minDelta?: number;
  /** Epochs without improvement before stopping. */
  patience?: number;
  /** Which way the quantity improves (default `auto`: from its name, see {@link MonitorMode}). */
  mode?: MonitorMode;
  /** The quantity must beat this too for the patience count to restart. */
  baseline?: number | null;
  /** At the end of training, put back the weights of the best epoch. */
  restoreBestWeights?: boolean;
  /** Epochs to train before watching (a warm-up). */
  startFromEpoch?: number;
}

/** Keras EarlyStopping: ends fit() when the monitored quantity has not improved for `patience` epochs. */
export class EarlyStopping implements Callback {
  /** The logged quantity watched (default `val_loss`). */
  readonly monitor: string;
  /** Epochs without improvement before stopping (default 0). */
  readonly patience: number;
  /** A value the quantity must also beat for the patience count to restart, or null (the default). */
  readonly baseline: number | null;
  /** Whether the best epoch's weights are put back at the end of training (default false). */
  readonly restoreBestWeights: boolean;
  /** Epochs trained before the watching starts (default 0). */
  readonly startFromEpoch: number;
  private readonly better: (current: number, best: number) => boolean;
  private readonly worst: number;
  private model: CallbackModel | null = null;
  /** The best value of the quantity so far (Infinity or -Infinity before the first). */
  best = Infinity;
  /** The epoch (from 0) of the best value. */
  bestEpoch = 0;
  /** The epoch in which training was stopped, 0 if it was not. */
  stoppedEpoch = 0;
  private wait = 0;
  private bestWeights: Float32Array[] | null = null;

  constructor(c: EarlyStoppingConfig = {}) {
    this.monitor = c.monitor ?? 'val_loss';
    this.patience = c.patience ?? 0;
    this.baseline = c.baseline ?? null;
    this.restoreBestWeights = c.restoreBestWeights ?? false;
    this.startFromEpoch = c.startFromEpoch ?? 0;
    ({ better: this.better, worst: this.worst } = improvement(this.monitor, c.mode ?? 'auto', c.minDelta ?? 0));
    this.best = this.worst;
  }

  setModel(model: CallbackModel): void {
    this.model = model;
  }

  /** Resets the count, the best value and any saved weights, so one callback can serve several fits. */
  onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = this.worst;
    this.bestEpoch = 0;
    this.bestWeights = null;
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const model = needModel(this.model, 'earlyStopping');
    const current = monitored(logs, this.monitor, 'earlyStopping');
    if (current === undefined || epoch < this.startFromEpoch) return;
    // As Keras: until something improves, the first watched epoch's weights count as the best.
    if (this.restoreBestWeights && !this.bestWeights) {
      this.bestWeights = getWeights(model);
      this.bestEpoch = epoch;
    }
    this.wait++;
    if (this.better(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = getWeights(model);
      // The count restarts only when both the previous best and the baseline are beaten.
      if (this.baseline === null || this.better(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      model.stopTraining = true;
    }
  }

  /** Puts back the best epoch's weights, with restoreBestWeights. */
  onTrainEnd(): void {
    if (this.restoreBestWeights && this.bestWeights) setWeights(needModel(this.model, 'earlyStopping'), this.bestWeights);
  }
}

function getWeights(model: CallbackModel): Float32Array[] {
  return model.weights.map((w) => (w.value.raw as Float32Array).slice());
}

function setWeights(model: CallbackModel, saved: Float32Array[]): void {
  const weights = model.weights;
  check(weights.length === saved.length, 'the model\'s weights changed during training');
  weights.forEach((w, i) => w.value.raw.set(saved[i]));
}

/** The options of {@link ModelCheckpoint}, with Keras's names and defaults. */
export interface ModelCheckpointConfig {
  /**
   * The checkpoint folder; may name the epoch (from 1) and logged values, as Keras:
   * `ckpt/epoch{epoch:02d}-{val_loss:.2f}`.
   */
  filepath: string;
  /** The logged quantity compared with saveBestOnly (default `val_loss`). */
  monitor?: string;
  /** Save only when the monitored quantity improves on the best so far. */
  saveBestOnly?: boolean;
  /** Which way the quantity improves (default `auto`: from its name, see {@link MonitorMode}). */
  mode?: MonitorMode;
}

/** Keras ModelCheckpoint: saves the model (model.save, written atomically) at the end of epochs. */
export class ModelCheckpoint implements Callback {
  /** The folder to save into, with `{epoch}` and logged values filled in at each save. */
  readonly filepath: string;
  /** The logged quantity compared with saveBestOnly (default `val_loss`). */
  readonly monitor: string;
  /** Whether to save only when the quantity improves (default false: every epoch). */
  readonly saveBestOnly: boolean;
  private readonly better: (current: number, best: number) => boolean;
  private model: CallbackModel | null = null;
  /** The best value of the quantity so far. */
  best: number;
  /** Folders written so far, in order. */
  readonly saved: string[] = [];

  constructor(c: ModelCheckpointConfig) {
    check(typeof c?.filepath === 'string' && c.filepath.length > 0, 'modelCheckpoint needs a filepath');
    this.filepath = c.filepath;
    this.monitor = c.monitor ?? 'val_loss';
    this.saveBestOnly = c.saveBestOnly ?? false;
    const { better, worst } = improvement(this.monitor, c.mode ?? 'auto', 0);
    this.better = better;
    this.best = worst;
  }

  setModel(model: CallbackModel): void {
    this.model = model;
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const model = needModel(this.model, 'modelCheckpoint');
    if (this.saveBestOnly) {
      const current = monitored(logs, this.monitor, 'modelCheckpoint');
      if (current === undefined || !this.better(current, this.best)) return;
      this.best = current;
    }
    const dir = formatPath(this.filepath, epoch, logs);
    model.save(dir);
    this.saved.push(dir);
  }
}

/** Fills `{epoch}`, `{epoch:02d}`, `{loss}`, `{val_loss:.4f}` (Python format fields, as Keras). */
export function formatPath(template: string, epoch: number, logs: Logs): string {
  return template.replace(/\{(\w+)(?::(0?)(\d*)([df])?|:\.(\d+)f)?\}/g, (field, key: string, zero, width, type, digits) => {
    const value = key === 'epoch' ? epoch + 1 : logs[key];
    check(value !== undefined, `checkpoint path ${JSON.stringify(template)} names "${key}", which is not logged (${Object.keys(logs).join(', ')})`);
    if (digits !== undefined) return value.toFixed(Number(digits));
    const s = type === 'd' ? String(Math.round(value)) : String(value);
    return width ? s.padStart(Number(width), zero ? '0' : ' ') : s;
  });
}

/** Keras LearningRateScheduler: at each epoch's start, lr = schedule(epoch, current lr). Logs `lr`. */
export function learningRateScheduler(schedule: (epoch: number, lr: number) => number): Callback {
  let model: CallbackModel | null = null;
  return {
    setModel(m) {
      model = m;
    },
    onEpochBegin(epoch) {
      const optimizer = needOptimizer(model, 'learningRateScheduler');
      const lr = schedule(epoch, optimizer.learningRate);
      check(typeof lr === 'number' && Number.isFinite(lr), `the learning-rate schedule returned ${lr} for epoch ${epoch}`);
      optimizer.learningRate = lr;
    },
    onEpochEnd(_epoch, logs) {
      logs.lr = needOptimizer(model, 'learningRateScheduler').learningRate;
    },
  };
}

/** The options of {@link reduceLROnPlateau}, with Keras's names and defaults. */
export interface ReduceLROnPlateauConfig {
  /** The logged quantity to watch (default `val_loss`). */
  monitor?: string;
  /** new lr = lr * factor. */
  factor?: number;
  /** Epochs without improvement before a cut. */
  patience?: number;
  /** Which way the quantity improves (default `auto`: from its name, see {@link MonitorMode}). */
  mode?: MonitorMode;
  /** Smaller changes than this do not count as improvement. */
  minDelta?: number;
  /** Epochs after a cut during which no improvement is expected. */
  cooldown?: number;
  /** The learning rate is never cut below this (default 0). */
  minLr?: number;
}

/** Keras ReduceLROnPlateau: cuts the learning rate when the monitored quantity stops improving. Logs `lr`. */
export function reduceLROnPlateau(c: ReduceLROnPlateauConfig = {}): Callback {
  const monitor = c.monitor ?? 'val_loss';
  const factor = c.factor ?? 0.1;
  const patience = c.patience ?? 10;
  const cooldown = c.cooldown ?? 0;
  const minLr = c.minLr ?? 0;
  check(factor < 1, `reduceLROnPlateau needs a factor below 1, got ${factor}`);
  const { better, worst } = improvement(monitor, c.mode ?? 'auto', c.minDelta ?? 1e-4);
  let model: CallbackModel | null = null;
  let best = worst, wait = 0, cooldownLeft = 0;
  return {
    setModel(m) {
      model = m;
    },
    onTrainBegin() {
      best = worst;
      wait = 0;
      cooldownLeft = 0;
    },
    onEpochEnd(_epoch, logs) {
      const optimizer = needOptimizer(model, 'reduceLROnPlateau');
      // The rate this epoch trained with, before any cut.
      logs.lr = optimizer.learningRate;
      const current = monitored(logs, monitor, 'reduceLROnPlateau');
      if (current === undefined) return;
      if (cooldownLeft > 0) {
        cooldownLeft--;
        wait = 0;
      }
      if (better(current, best)) {
        best = current;
        wait = 0;
      } else if (cooldownLeft === 0 && ++wait >= patience) {
        const lr = optimizer.learningRate;
        if (lr > minLr) {
          optimizer.learningRate = Math.max(lr * factor, minLr);
          cooldownLeft = cooldown;
          wait = 0;
        }
      }
    },
  };
}

/** A new {@link EarlyStopping} callback (tf.callbacks.earlyStopping). */
export const earlyStopping = (config?: EarlyStoppingConfig) => new EarlyStopping(config);
/** A new {@link ModelCheckpoint} callback. */
export const modelCheckpoint = (config: ModelCheckpointConfig) => new ModelCheckpoint(config);
