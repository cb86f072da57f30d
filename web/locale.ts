// Imported first (main.ts): a browser started under a POSIX locale (LANG=C, as on servers and in
// CI) reports navigator.language as "en-US@posix", which Intl refuses, and uPlot passes it to
// Intl.NumberFormat as it loads. Such a tag is replaced by "en-US" before anything reads it.

try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(navigator, 'language', { value: 'en-US', configurable: true });
}
