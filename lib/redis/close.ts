// Closing a client (lib/redis/connect.ts makes them): at once, or letting pending replies land;
// never leaving a reconnection node-redis had begun running, nor waiting on a Redis that stopped
// answering.
import { within } from "../time.ts";
import type { Redis } from "./connect.ts";

/** Clients with a command unanswered past its limit: closing one waits for no reply. */
const stalled = new WeakSet<Redis>();

/** Marks a client stalled (a command past its limit: answer.ts), or not (a reply came since). */
export function markStalled(client: Redis, yes: boolean): void {
  if (yes) stalled.add(client);
  else stalled.delete(client);
}

/** Clients destroyed here, each watched once for a connection it opens after that. */
const destroyed = new WeakSet<Redis>();

/**
 * Closes a client at once (pending replies are rejected); a closed one is left as it is.
 * node-redis finishes a reconnection it had begun even after destroy() or close(): the socket
 * it then opens belongs to no one and keeps the process alive for ever (a CLI that never
 * exits). So a connection the client makes after this is closed as soon as it opens.
 */
export function destroy(client: Redis): void {
  try {
    client.destroy();
  } catch {
    // already closed
  }
  if (destroyed.has(client)) return;
  destroyed.add(client);
  client.on("connect", () => {
    try {
      client.destroy();
    } catch {
      // already closed
    }
  });
}

/**
 * Closes a client, letting replies still pending land for up to `waitMs`, then destroys it.
 * `pending`: calls made before the close that may not have sent their commands yet (a script
 * loaded first: lib/redis/gate.ts), waited for within the same `waitMs` before the client stops
 * taking commands. A client that is not connected (Redis away, reconnecting) is destroyed at
 * once: node-redis' close() would wait for replies that cannot come, or leave the reconnection
 * running; so would it for a client whose Redis stopped answering (a command past its limit:
 * answer.ts).
 */
export async function closeClient(
  client: Redis,
  waitMs = 5_000,
  pending: Promise<unknown> = Promise.resolve(),
): Promise<void> {
  if (client.isReady && !stalled.has(client))
    await within(
      pending.then(() => client.close()).catch(() => {}),
      waitMs,
    );
  destroy(client);
}
