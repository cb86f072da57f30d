// Runs the test suite with node's own test runner through tsx (Node 20 does not expand globs):
// every file on the default wasm backend, then the backend-independent files again on the
// reference backend, and on the wasm backend with TSGRAD_DEBUG_MEMORY=1 (freed storage filled
// with NaN, young storage moved out of the heap at every step), so one suite checks all three.
// Each test process loads src/index.ts first: Node's entry, which registers the wasm backend.
// The build (scripts/build.js) runs first, so the CLI the tests spawn and the package they pack are
// this checkout's code, never a stale dist/.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

if (spawnSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' }).status !== 0) process.exit(1);

const files = readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/${f}`);
const perBackend = files.filter((f) => !/\/(wasm|cli|gpt-cli|bad-input|crash|idx|browser|dashboard|readme|package|caption-data|caption-cli|server|pytorch-export|api-docs)\.test\.ts$/.test(f));
const passes = [
  ['wasm', files, {}],
  ['ref', perBackend, {}],
  ['wasm with TSGRAD_DEBUG_MEMORY=1', files.filter((f) => !/\/(package|caption-data|api-docs)\.test\.ts$/.test(f)), { TSGRAD_DEBUG_MEMORY: '1' }],
];
let failed = false;
for (const [name, list, env] of passes) {
  console.log(`# backend: ${name}`);
  const args = ['--import', 'tsx', '--import', './src/index.ts', '--test', ...process.argv.slice(2), ...list];
  const backend = name.split(' ')[0];
  const { status } = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, TSGRAD_BACKEND: backend, ...env } });
  failed ||= status !== 0;
}
process.exit(failed ? 1 : 0);
