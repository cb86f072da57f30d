// The web front end (web/, bundled by scripts/build-web.js) in a real headless Chromium, served by
// tsgrad's own server (src/server) over small real runs made with the CLI: the dashboard draws a
// finished run's curves point for point (against metrics.jsonl) and a live run's as it is written;
// the playground reads a drawn 1, trains a network in the page, streams a GPT's text and captions
// a drawing; the page is cross-origin isolated and its workers compute; no console error anywhere.
// Screenshots of each view go to test-output/browser/.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { chromiumPath, tempDir } from './helpers.js';

const BIN = path.resolve('bin/tsgrad.js');
const SHOTS = path.resolve('test-output/browser');
const work = tempDir('dashboard');
const runs = path.join(work, 'runs');
let server: RunningServer;
let browser: Browser;
/** Console errors and page errors of every page, with the page's address. */
const problems: string[] = [];

function tsgrad(...args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args, '--runs', runs], { cwd: work, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsgrad ${args.join(' ')}: ${r.stderr}`);
}

/** A run's records as metrics.jsonl holds them. */
function records(name: string): Record<string, number | string>[] {
  return fs.readFileSync(path.join(runs, name, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** Points each chart should plot: training from the step records, validation from the epoch records. */
function expectedPoints(name: string) {
  const rs = records(name);
  const count = (event: string, key: string) => rs.filter((r) => r.event === event && typeof r[key] === 'number').length;
  return {
    loss: count('step', 'loss') + count('epoch', 'val_loss'),
    accuracy: count('step', 'accuracy') + count('epoch', 'val_accuracy'),
    lr: count('step', 'lr'),
    throughput: count('step', 'samplesPerSec'),
  };
}

async function open(hash: string, o: { language?: string } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  if (o.language) await page.addInitScript(`Object.defineProperty(navigator, 'language', { get: () => ${JSON.stringify(o.language)}, configurable: true })`);
  page.on('console', (m) => m.type() === 'error' && problems.push(`${hash}: console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`${hash}: page error: ${e.message}`));
  await page.goto(`${server.url}${hash}`);
  return page;
}

const points = (page: Page, chart: string) => page.locator(`[data-testid="${chart}"]`).getAttribute('data-points').then(Number);

/** A stroke through `at` points of the canvas `testid`, in its own pixels, with the mouse. */
async function draw(page: Page, testid: string, at: [number, number][]): Promise<void> {
  const canvas = page.locator(`[data-testid="${testid}"]`);
  await canvas.scrollIntoViewIfNeeded();
  const box = (await canvas.boundingBox())!;
  const size = await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
  const to = ([x, y]: [number, number]) => [box.x + (x * box.width) / size[0], box.y + (y * box.height) / size[1]] as const;
  await page.mouse.move(...to(at[0]));
  await page.mouse.down();
  for (const p of at.slice(1)) await page.mouse.move(...to(p), { steps: 4 });
  await page.mouse.up();
}

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const web = await buildWeb(path.join(work, 'web'));
  // A classifier good enough to read a drawn 1, a tiny GPT and a tiny captioner (its words are not checked).
  tsgrad('train', '--limit', '4000', '--epochs', '2', '--validation-split', '0.1', '--log-every', '10', '--name', 'digits');
  const lines = Array.from({ length: 400 }, (_, i) => `the quick brown fox ${i % 7} jumps over the lazy dog and runs far away`);
  fs.writeFileSync(path.join(work, 'tale.txt'), lines.join('\n') + '\n');
  tsgrad('gpt', 'train', '--text', 'tale.txt', '--layers', '1', '--heads', '2', '--embd', '32', '--block', '32', '--batch-size', '8',
    '--warmup-steps', '5', '--eval-batches', '1', '--steps', '40', '--eval-every', '20', '--log-every', '5', '--name', 'story');
  tsgrad('caption', 'train', '--filters', '8,8,8', '--embd', '16', '--heads', '2', '--layers', '1', '--eval-count', '20', '--batch-size', '8',
    '--steps', '4', '--eval-every', '2', '--warmup-steps', '1', '--name', 'words');
  server = await startServer({ runs, port: 0, web });
  browser = await chromium.launch({
    executablePath: await chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Each test ends with this: no console error or page error so far. */
const noProblems = () => assert.deepEqual(problems, [], 'console errors or page errors');

test("the dashboard draws a finished run's curves point for point, its confusion matrix, mistakes, filters and feature maps", async () => {
  const page = await open('#/dashboard/digits');
  const want = expectedPoints('digits');
  assert.ok(want.loss > 20 && want.throughput > 20, JSON.stringify(want));
  for (const [chart, n] of Object.entries(want)) {
    await page.waitForFunction(([c, n]) => document.querySelector(`[data-testid="chart-${c}"]`)?.getAttribute('data-points') === String(n), [chart, n] as const, { timeout: 20_000 })
      .catch(async () => assert.fail(`chart-${chart} plots ${await points(page, `chart-${chart}`)} points, metrics.jsonl has ${n}`));
  }
  const item = page.locator('[data-testid="run"][data-name="digits"]');
  assert.equal(await item.getAttribute('data-kind'), 'classifier');
  assert.match(await item.innerText(), /test accuracy \d+\.\d\d%/);
  assert.equal(await page.locator('[data-testid="run"]').count(), 3);
  await page.locator('[data-testid="confusion"] tbody tr').nth(9).waitFor({ timeout: 60_000 });
  const confusion = await page.locator('[data-testid="confusion"] tbody td').allInnerTexts();
  assert.equal(confusion.reduce((s, c) => s + Number(c), 0), 10_000, 'the confusion matrix counts every test image');
  await page.locator('[data-testid="wrong"] img').first().waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="wrong"] img')].every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth === 28));
  assert.equal(await page.locator('[data-testid="filters"] canvas').count(), 32);
  await page.locator('[data-testid="feature-maps"] section').nth(7).waitFor();
  // A misclassified image clicked: its feature maps, the first layer's 32 among them.
  const wrong = page.locator('[data-testid="wrong"]').nth(2);
  const [, index, label, predicted] = /test image (\d+): (\d) taken for (\d)/.exec((await wrong.getAttribute('title'))!)!;
  await wrong.click();
  await page.getByText(`true ${label}, predicted ${predicted}`).waitFor();
  assert.equal(await page.locator('[data-testid="image-index"]').inputValue(), index);
  assert.equal(await page.locator('[data-testid="feature-maps"] section').first().locator('canvas').count(), 32);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });
  // Several runs on one chart: the classifier and the GPT, one series each for training and validation.
  await page.goto(`${server.url}#/dashboard/digits,story`);
  const both = want.loss + expectedPoints('story').loss;
  await page.waitForFunction((n) => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-points') === String(n), both, { timeout: 20_000 });
  assert.deepEqual(await page.locator('[data-testid="chart-loss"] .u-legend .u-label').allInnerTexts(), ['step', 'digits training', 'digits validation', 'story training', 'story validation']);
  await page.locator('[data-testid="sample-generate"]').waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-compare.png'), fullPage: true });
  await page.close();
  noProblems();
});

test("a live run's curves grow as it trains, with every record once", async () => {
  const child = spawn(process.execPath, [BIN, 'train', '--limit', '20000', '--epochs', '2', '--log-every', '5', '--validation-split', '0.05', '--runs', runs, '--name', 'live'], { cwd: work, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const metrics = path.join(runs, 'live', 'metrics.jsonl');
    while (!fs.existsSync(metrics) || fs.statSync(metrics).size === 0) await new Promise((r) => setTimeout(r, 100));
    const page = await open('#/dashboard/live');
    await page.locator('[data-testid="run"][data-name="live"][data-live="true"]').waitFor();
    const seen: number[] = [];
    for (let i = 0; i < 40 && new Set(seen).size < 3; i++) {
      seen.push(await points(page, 'chart-loss'));
      await page.waitForTimeout(250);
    }
    assert.ok(new Set(seen).size >= 3 && seen.every((n, i) => i === 0 || n >= seen[i - 1]), `chart-loss points over time: ${seen.join(', ')}`);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-live.png') });
    assert.equal(await exited, 0);
    // Finished: the chart holds each record of metrics.jsonl once, and the run is no longer live.
    const want = expectedPoints('live').loss;
    await page.waitForFunction((n) => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-points') === String(n), want, { timeout: 20_000 })
      .catch(async () => assert.fail(`the live chart plots ${await points(page, 'chart-loss')} points, metrics.jsonl has ${want}`));
    await page.locator('[data-testid="run"][data-name="live"][data-live="false"]').waitFor({ timeout: 20_000 });
    await page.close();
  } finally {
    child.kill();
  }
  noProblems();
});

test('the playground reads a drawn 1, trains a network in the page, streams GPT text and captions a drawing', async () => {
  const page = await open('#/playground');
  await page.locator('[data-testid="model-select"] option[value="digits"]').waitFor({ state: 'attached' });
  await page.locator('[data-testid="model-select"]').selectOption('digits');
  await draw(page, 'pad', [[140, 40], [140, 240]]);
  await page.locator('[data-testid="top"]').nth(1).waitFor();
  // Predictions are throttled while drawing: read them once they stay the same.
  const read = () => page.locator('[data-testid="top"]').evaluateAll((els) => els.map((e) => ({ digit: Number(e.getAttribute('data-digit')), p: Number(e.getAttribute('data-prob')) })));
  let top = await read();
  for (let last = ''; JSON.stringify(top) !== last; top = await read()) {
    last = JSON.stringify(top);
    await page.waitForTimeout(300);
  }
  assert.ok(top.slice(0, 2).some((t) => t.digit === 1), `top predictions of a vertical stroke: ${JSON.stringify(top)}`);
  assert.ok(top[0].p >= top[1].p && top.every((t) => t.p >= 0 && t.p <= 1));
  assert.equal(await page.locator('[data-testid="input28"] canvas').count(), 1);
  assert.ok(await page.locator('[data-testid="digit-panel"] [data-testid="feature-maps"] canvas').count() > 32);

  // The GPT streams: its text grows over several looks before it is done.
  await page.locator('[data-testid="gpt-run"]').selectOption('story');
  await page.locator('[data-testid="gpt-panel"] input[aria-label="tokens"]').fill('600');
  await page.locator('[data-testid="gpt-generate"]').click();
  const lengths: number[] = [];
  for (let i = 0; i < 200; i++) {
    const [state, text] = await page.locator('[data-testid="gpt-output"]').evaluate((e) => [e.getAttribute('data-state'), e.textContent ?? '']);
    if (state === 'streaming') lengths.push(text.length);
    if (state === 'done') break;
    await page.waitForTimeout(50);
  }
  assert.ok(new Set(lengths).size >= 3, `the GPT output's length as it streamed: ${lengths.join(', ')}`);
  assert.ok((await page.locator('[data-testid="gpt-output"]').textContent())!.length > 100);
  assert.equal(await page.locator('[data-testid="gpt-panel"] [data-testid="error"]').count(), 0);

  // The caption panel prepares the drawing and captions it (the tiny captioner's words are not checked).
  await page.locator('[data-testid="caption-run"]').selectOption('words');
  await draw(page, 'caption-pad', [[150, 20], [150, 95]]);
  await page.locator('[data-testid="caption-output"][data-state="done"]').waitFor();
  assert.notEqual(await page.locator('[data-testid="caption-output"]').textContent(), '');
  assert.equal(await page.locator('[data-testid="caption-panel"] [data-testid="error"]').count(), 0);

  // Training in the page: its curves grow, and the trained network becomes the classifier.
  await page.locator('[data-testid="train-panel"] input[aria-label="images"]').fill('400');
  await page.locator('[data-testid="train-panel"] input[aria-label="epochs"]').fill('1');
  await page.locator('[data-testid="train-start"]').click();
  await page.locator('[data-testid="model-select"] option[value="page"]').waitFor({ state: 'attached', timeout: 60_000 });
  assert.equal(await page.locator('[data-testid="model-select"]').inputValue(), 'page');
  assert.ok(await points(page, 'chart-page-loss') >= 3);
  assert.equal(await page.locator('[data-testid="train-panel"] [data-testid="error"]').count(), 0);
  // Training's batches of 32 are split between the threads: the Web Workers' share shows in the status line.
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="backend"]')?.getAttribute('data-worker-chunks')) > 0, null, { timeout: 10_000 });
  await page.screenshot({ path: path.join(SHOTS, 'playground.png'), fullPage: true });
  await page.close();
  noProblems();
});

test('the page is cross-origin isolated and runs on more than one thread', async () => {
  const page = await open('#/dashboard');
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  const status = page.locator('[data-testid="backend"]');
  await page.locator('[data-testid="backend"][data-threads]').waitFor();
  assert.equal(await status.getAttribute('data-isolated'), 'true');
  assert.equal(await status.getAttribute('data-backend'), 'wasm');
  assert.ok(Number(await status.getAttribute('data-threads')) > 1, `threads: ${await status.getAttribute('data-threads')}`);
  assert.match(await status.innerText(), /^wasm · \d+ threads · (relaxed )?SIMD · cross-origin isolated$/);
  await page.close();
  noProblems();
});

test('a browser under a POSIX locale (navigator.language "en-US@posix", which Intl refuses) shows the page all the same', async () => {
  const page = await open('#/dashboard/digits', { language: 'en-US@posix' });
  const want = expectedPoints('digits').loss;
  await page.waitForFunction((n) => document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-points') === String(n), want, { timeout: 20_000 })
    .catch(async () => assert.fail(`chart-loss plots ${await points(page, 'chart-loss')} points, metrics.jsonl has ${want}`));
  await page.close();
  noProblems();
});
