// Stalled connections. A connection whose peer vanished without closing it (a cut cable, a
// proxy that stalls) never errors: the kernel keeps accepting writes, so socket timeouts do
// not fire either. The only sure sign is a reply that does not come. A command watched here
// that stays unanswered past its limit calls `onStall`, which replaces the connection
// (lib/redis/link.ts); everything pending on it is rejected and retried by its owner.

export function watchdog<T>(command: Promise<T>, limitMs: number, onStall: () => void): Promise<T> {
  const timer = setTimeout(onStall, limitMs);
  return command.finally(() => clearTimeout(timer));
}

/**
 * The same watch for a client nobody replaces (a Queue's, an Admin's, a CLI's: connect.ts):
 * the command is rejected with `stalled()` past its limit, and the connection is left as it
 * is: a Redis that was only stopped answers later, in order, and the late reply is dropped.
 */
export function answerWithin<T>(
  command: Promise<T>,
  limitMs: number,
  stalled: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    watchdog(command, limitMs, () => reject(stalled())).then(resolve, reject);
  });
}
