// Bundles the library for browsers (src/browser.ts -> build/tsgrad.browser.js, an ES module) with
// esbuild. Node's built-in modules, which the bundle imports but never calls in a browser (file
// reading, the worker_threads pool), are replaced by empty stand-ins. Run by `npm run build:browser`.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';

/** Stand-ins for node:* imports: a default export, and the named ones the library imports. */
const NAMED = { 'node:worker_threads': ['Worker', 'workerData'], 'node:module': ['createRequire'] };
const nodeStubs = {
  name: 'node-stubs',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      contents: ['export default {};', ...(NAMED[args.path] ?? []).map((n) => `export const ${n} = undefined;`)].join('\n'),
      loader: 'js',
    }));
  },
};

export async function buildBrowser(outfile = 'build/tsgrad.browser.js') {
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('../src/browser.ts', import.meta.url))],
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile, plugins: [nodeStubs], logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`build-browser: ${await buildBrowser()}`);
