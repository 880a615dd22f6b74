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
