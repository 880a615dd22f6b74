// Stalled connections. A connection whose peer vanished without closing it (a cut cable, a
// proxy that stalls) never errors: the kernel keeps accepting writes, so socket timeouts do
// not fire either. The only sure sign is a reply that does not come. A command guarded here
// that stays unanswered past its limit gets its connection closed and reopened; everything
// pending on it is rejected and retried by its owner (reads, settles, leases).
import type { Redis } from "./connect.ts";

export function guard<T>(
  client: Redis,
  command: Promise<T>,
  limitMs: number,
  onStall: () => void,
): Promise<T> {
  const timer = setTimeout(() => {
    onStall();
    reopen(client);
  }, limitMs);
  return command.finally(() => clearTimeout(timer));
}

/** Drops the socket and connects again with the client's own settings and retry strategy. */
export function reopen(client: Redis): void {
  client.destroy();
  // connect() keeps retrying with the client's reconnect strategy; failures are reported
  // through the client's "error" listener.
  client.connect().catch(() => {});
}
