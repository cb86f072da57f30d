/** Bundles web/ with the library into `outdir` (default build/web): index.html, app.js, app.css; returns `outdir`. */
export function buildWeb(outdir?: string): Promise<string>;
