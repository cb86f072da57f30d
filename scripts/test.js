// Runs the test suite with node's own test runner through tsx (Node 20 does not expand globs):
// every file on the default wasm backend, then the backend-independent files again on the
// reference backend, so one suite checks both.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const files = readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/${f}`);
const perBackend = files.filter((f) => !/\/(wasm|cli|gpt-cli|idx|browser)\.test\.ts$/.test(f));
let failed = false;
for (const [backend, list] of [['wasm', files], ['ref', perBackend]]) {
  console.log(`# backend: ${backend}`);
  const args = ['--import', 'tsx', '--import', './src/index.ts', '--test', ...process.argv.slice(2), ...list];
  const { status } = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, TSGRAD_BACKEND: backend } });
  failed ||= status !== 0;
}
process.exit(failed ? 1 : 0);
