// `info --watch`: a report redrawn every so often until the user stops it, each tick started
// on the interval whatever the last one took (a slow Redis does not pile ticks up).

/** Calls `tick` now and then every `everyMs` until `signal` aborts; a failed tick is reported. */
export async function repeat(
  tick: () => Promise<void>,
  everyMs: number,
  signal: AbortSignal,
  onError: (err: unknown) => void,
): Promise<void> {
  while (!signal.aborted) {
    const started = Date.now();
    await tick().catch(onError);
    const wait = Math.max(0, everyMs - (Date.now() - started));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      signal.addEventListener("abort", wake, { once: true });
    });
  }
}
