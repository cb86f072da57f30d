#!/usr/bin/env node
// The `tsgrad` command: the compiled CLI in dist/ (built by `npm run build`, and by `npm install`
// in a checkout).
try {
  await import('../dist/cli/main.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli/main.js')) throw e;
  console.error('tsgrad: dist/ is missing; run `npm run build` in this checkout');
  process.exit(1);
}
