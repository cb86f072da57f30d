// The front end's entry: the status line (which backend computes, on how many threads), and two
// views behind hash routes, #/dashboard[/<run>,<run>] and #/playground, each built when first shown
// and kept (so a training in the playground goes on while the dashboard is looked at).
// Bundled with the library by scripts/build-web.js into build/web/app.js and app.css.

import './locale.ts'; // before uPlot
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { Dashboard } from './dashboard.ts';
import { errorText, fill, message } from './dom.ts';
import { backendInfo } from './lib.ts';
import { Playground } from './playground.ts';

const main = document.querySelector('main')!;
const status = document.querySelector<HTMLElement>('[data-testid="backend"]')!;
const problems = document.querySelector<HTMLElement>('#problems')!;

// A bug anywhere shows on the page, not only in the console.
window.addEventListener('error', (e) => problems.append(message('error', `Unexpected error: ${e.message}`)));
window.addEventListener('unhandledrejection', (e) => problems.append(message('error', `Unexpected error: ${errorText(e.reason)}`)));

/** The status line; `data-worker-chunks` counts the pieces of work the Web Workers have done (so a test can tell they compute). */
function showBackend(): void {
  const b = backendInfo();
  status.dataset.workerChunks = String(b.chunks.byWorkers);
  status.title = b.note ?? '';
  status.dataset.backend = b.name;
  status.dataset.threads = String(b.threads);
  status.dataset.isolated = String(b.isolated);
  const simd = b.simd === 'relaxed' ? 'relaxed SIMD' : b.simd === 'simd' ? 'SIMD' : 'no SIMD';
  fill(status, `${b.name} · ${b.threads} thread${b.threads === 1 ? '' : 's'}${b.name === 'wasm' ? ` · ${simd}` : ''} · ${b.isolated ? 'cross-origin isolated' : 'not cross-origin isolated'}`);
  if (!b.isolated && !problems.querySelector('.isolation')) {
    problems.append(Object.assign(message('note', 'This page is not cross-origin isolated (the server did not send COOP/COEP headers), so the browser allows no shared memory: tsgrad computes on one thread here. Open it through tsgrad serve for all cores.'), { className: 'message note isolation' }));
  }
}

const views: { dashboard?: Dashboard; playground?: Playground } = {};

function route(): void {
  const [, view = 'dashboard', rest = ''] = /^#\/([^/]*)\/?(.*)$/.exec(location.hash) ?? [];
  const tabs = document.querySelectorAll<HTMLAnchorElement>('nav a');
  tabs.forEach((a) => a.setAttribute('aria-current', a.getAttribute('href') === `#/${view}` ? 'page' : 'false'));
  for (const el of main.children) (el as HTMLElement).hidden = true;
  if (view === 'playground') {
    views.playground ??= new Playground();
    if (!views.playground.el.isConnected) main.append(views.playground.el);
    views.playground.el.hidden = false;
    void views.playground.refresh();
  } else {
    views.dashboard ??= new Dashboard();
    if (!views.dashboard.el.isConnected) main.append(views.dashboard.el);
    views.dashboard.el.hidden = false;
    views.dashboard.show(rest.split(',').filter(Boolean).map(decodeURIComponent));
  }
}

showBackend();
setInterval(showBackend, 2000);
window.addEventListener('hashchange', route);
route();
