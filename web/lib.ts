// The library as the page uses it: the browser entry (src/browser.ts), bundled into the app, so
// the page and the library share one backend. Nothing else in web/ imports from src/.

import type { FitArgs } from '../src/browser.ts';

export * from '../src/browser.ts';
export type { LanguageModel } from '../src/train/lm.ts';

/** A training callback, as fit() takes them. */
export type Callback = NonNullable<FitArgs['callbacks']>[number];
