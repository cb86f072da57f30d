// Bundles the library for browsers (src/browser.ts -> build/tsgrad.browser.js, an ES module) with
// esbuild. libraryPlugins() is what any bundle of the library needs (the web front end's too):
// Node's built-in modules, which the bundle imports but never calls in a browser (file reading,
// the worker_threads platform), become empty stand-ins, and the virtual module `tsgrad:embedded`
// holds both kernel builds (build/kernels-*.wasm, in base64) and the Web Worker's source
// (src/backend/wasm/worker-web.js, bundled), so that the bundle is one file that fetches nothing.
// Run by `npm run build:browser` (after the kernels are built).
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);

/** Stand-ins for node:* imports: a default export, and the named ones the library imports. */
const NAMED = { 'node:worker_threads': ['Worker', 'workerData', 'parentPort'], 'node:module': ['createRequire'] };
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

async function embedded() {
  const kernels = (name) => {
    const file = new URL(`build/kernels-${name}.wasm`, root);
    if (!fs.existsSync(file)) throw new Error(`build-browser: ${fileURLToPath(file)} is missing: build the kernels first (npm run build)`);
    return fs.readFileSync(file).toString('base64');
  };
  const worker = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('src/backend/wasm/worker-web.js', root))],
    bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, logLevel: 'warning',
  });
  return {
    RELAXED_KERNELS: kernels('relaxed'),
    SIMD_KERNELS: kernels('simd'),
    WORKER_SOURCE: worker.outputFiles[0].text,
  };
}

/** The esbuild plugins every browser bundle of the library needs (see above). */
export async function libraryPlugins() {
  const values = await embedded();
  const virtual = {
    name: 'tsgrad-embedded',
    setup(build) {
      build.onResolve({ filter: /^tsgrad:embedded$/ }, (args) => ({ path: args.path, namespace: 'tsgrad-embedded' }));
      build.onLoad({ filter: /.*/, namespace: 'tsgrad-embedded' }, () => ({
        contents: Object.entries(values).map(([k, v]) => `export const ${k} = ${JSON.stringify(v)};`).join('\n'),
        loader: 'js',
      }));
    },
  };
  return [nodeStubs, virtual];
}

export async function buildBrowser(outfile = 'build/tsgrad.browser.js') {
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('src/browser.ts', root))],
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile, plugins: await libraryPlugins(), logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`build-browser: ${await buildBrowser()}`);
