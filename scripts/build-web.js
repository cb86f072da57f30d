// Bundles the browser front end (web/: the dashboard and the playground) with the library into
// build/web/: index.html, app.js (web/main.ts, src/browser.ts and uPlot, one ES module) and app.css
// (web/style.css and uPlot's), so the page loads nothing from elsewhere (no CDN, no web font).
// The library's esbuild plugins come from build-browser.js (node:* stand-ins, the embedded
// kernels and Web Worker). Run by scripts/build.js after the browser bundle, or on its own.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { libraryPlugins } from './build-browser.js';

const root = new URL('../', import.meta.url);
const at = (p) => fileURLToPath(new URL(p, root));

export async function buildWeb(outdir = at('build/web')) {
  fs.mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: { app: at('web/main.ts') }, outdir, bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    minify: true, legalComments: 'eof', plugins: await libraryPlugins(), logLevel: 'warning',
  });
  fs.copyFileSync(at('web/index.html'), `${outdir}/index.html`);
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`build-web: ${await buildWeb()}`);
