// Runs every test file with node's own test runner through tsx (Node 20 does not expand globs).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const files = readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/${f}`);
const args = ['--import', 'tsx', '--test', ...process.argv.slice(2), ...files];
const { status } = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(status ?? 1);
