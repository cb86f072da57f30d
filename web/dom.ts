// A few DOM helpers, in place of a framework: element creation, messages, throttling, yielding.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** An element with attributes (`onclick` etc. as listeners; false/null/undefined left out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v != null) el.setAttribute(k, String(v));
  }
  el.append(...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (typeof c === 'number' ? String(c) : c)));
  return el;
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  el.append(...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (typeof c === 'number' ? String(c) : c)));
}

/** A message in place of a panel's content: 'error' for failures, 'note' for "nothing here yet". */
export function message(kind: 'error' | 'note', text: string): HTMLElement {
  return h('p', { class: `message ${kind}`, 'data-testid': kind === 'error' ? 'error' : 'note', role: kind === 'error' ? 'alert' : null }, text);
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * `fn` called at most once per `ms`, with the latest arguments, the last call always honoured
 * (trailing), and never twice at once when it is async.
 */
export function throttle<A extends unknown[]>(fn: (...args: A) => unknown, ms: number): (...args: A) => void {
  let last = 0, timer: ReturnType<typeof setTimeout> | null = null, running = false, pending: A | null = null;
  const run = async () => {
    timer = null;
    if (running || !pending) return;
    const args = pending;
    pending = null;
    running = true;
    last = performance.now();
    try {
      await fn(...args);
    } finally {
      running = false;
      if (pending) schedule();
    }
  };
  const schedule = () => {
    if (timer !== null || running) return;
    timer = setTimeout(run, Math.max(0, last + ms - performance.now()));
  };
  return (...args: A) => {
    pending = args;
    schedule();
  };
}

/** Lets the browser paint and handle input before the next piece of work. */
export const nextFrame = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export const percent = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;
