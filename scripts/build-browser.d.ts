// Types for build-browser.js (plain JavaScript, run without a TypeScript loader).
export function buildBrowser(outfile?: string): Promise<string>;
