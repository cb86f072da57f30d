// Builds everything the package ships, from a checkout: the WebAssembly kernels (build/*.wasm),
// the library and CLI as ESM JavaScript with .d.ts and source maps (dist/, by tsc from src/), the
// browser bundle (build/tsgrad.browser.js) and the web front end (build/web/). Run by `npm run
// build`, by `npm install` in a checkout (prepare) and before the tests (scripts/test.js), so the
// CLI they run is never stale.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { buildBrowser } from './build-browser.js';
import { buildWeb } from './build-web.js';
import { buildWasm } from './build-wasm.js';

const start = Date.now();
const wasm = await buildWasm();
// Compiled into a temporary folder, then swapped in: a test or command running meanwhile never
// sees dist/ missing or half-written.
const tmp = `dist.tmp-${process.pid}`;
fs.rmSync(tmp, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const { status } = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', tmp], { stdio: 'inherit' });
if (status !== 0) {
  fs.rmSync(tmp, { recursive: true, force: true });
  console.error('build: tsc failed (see above)');
  process.exit(1);
}
for (const file of ['worker.js', 'worker-loop.js', 'worker-loop.d.ts']) fs.copyFileSync(`src/backend/wasm/${file}`, `${tmp}/backend/wasm/${file}`); // plain JavaScript (and its types), which tsc does not copy
const old = `dist.old-${process.pid}`;
if (fs.existsSync('dist')) fs.renameSync('dist', old);
fs.renameSync(tmp, 'dist');
fs.rmSync(old, { recursive: true, force: true });
const browser = await buildBrowser();
const web = await buildWeb('build/web');
console.log(`build: ${[...wasm, 'dist/', browser, `${web}/`].join(', ')} in ${((Date.now() - start) / 1000).toFixed(1)} s`);
