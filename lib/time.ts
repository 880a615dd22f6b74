// Timing helpers that never keep the process alive after their work is done.

/** Waits for `promise` or `ms`, whichever comes first; true when the promise won. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** `promise`'s value, or null after `ms`; a later failure of the promise is dropped. */
export async function valueWithin<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits `ms`, or less if `signal` aborts first (then at once): a back-off that a stopping
 * worker ends instead of sitting it out.
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `fn` every `ms`, skipping a tick while the previous call is still out (a slow Redis
 * must not pile calls up behind each other). Returns the function that stops it.
 */
export function every(ms: number, fn: () => Promise<unknown>, onError: (err: unknown) => void) {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void fn()
      .catch(onError)
      .finally(() => {
        busy = false;
      });
  }, ms);
  return () => clearInterval(timer);
}

/**
 * `base` · 2^n, capped at `cap` (n below 0 counts as 0): the one exponential delay, for retry
 * back-off and for waits between reconnects. No jitter here; callers that need it add it.
 */
export function exponentialMs(base: number, n: number, cap: number): number {
  return Math.min(base * 2 ** Math.max(0, n), cap);
}

/** The largest time a JavaScript Date holds, in ms either side of 1970 (100,000,000 days). */
const DATE_MAX_MS = 8.64e15;

/**
 * A time in ms that a Date can show, else null (unknown): stored times come from Redis, where a
 * stream id's ms goes up to 2^64 - 1 and a record's field holds any digits.
 */
export function dateMs(ms: number | null | undefined): number | null {
  return ms != null && Number.isFinite(ms) && Math.abs(ms) <= DATE_MAX_MS ? ms : null;
}

/** A time in ms as an ISO string, or null when unknown or past a Date's range (dateMs). */
export function isoOrNull(ms: number | null | undefined): string | null {
  const at = dateMs(ms);
  return at === null ? null : new Date(at).toISOString();
}
