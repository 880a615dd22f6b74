// What a read of the stopping worker took from its own release (lib/worker/stop.ts, "8. Shutdown"
// in docs/internals.md). The stop closes the blocking read's connection, but Redis may not have
// read that close yet when the release re-adds the jobs still running: a Redis that did not run
// meanwhile (a busy machine) reads a read sent just before the stop and the release in one turn,
// the read's close only after, and the read, waiting, is handed the first entries the release
// adds. They were pending on the worker that left, for claimIdleMs, instead of free at once (a
// cluster test met it once).
// Such a read is served once; what it took never ran here, so it goes back as a give-back does:
// no run written, no attempt spent.
import { giveBackEntries } from "../engine/give-back.ts";
import { GROUP, type QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { leave } from "./presence.ts";

/** Pending entries read per look (a late read takes at most what it asked for: a few). */
const PAGE = 1_000;

/**
 * After a release that re-added entries: gives back what is pending on `name` again (a late
 * read's take), then leaves the group again (the read made the consumer again); again while a
 * look found some (what it gave back may feed another late read, one per connection closed).
 * Returns how many were given back. Nothing is pending in the common case: one XPENDING.
 */
export async function giveBackLateReads(
  client: Redis,
  keys: QueueKeys,
  name: string,
  start: string,
): Promise<number> {
  let back = 0;
  for (;;) {
    const cmd = ["XPENDING", keys.stream, GROUP, "-", "+", String(PAGE), name];
    const pending = await client.sendCommand<[string, ...unknown[]][]>(cmd);
    if (pending.length === 0) return back;
    const entries = pending.map(([entry]) => entry);
    const verdicts = await giveBackEntries(client, keys, name, entries, start);
    // All gone: another start holds the name now (what is pending on it is that start's), or
    // entries deleted from the stream meanwhile (a claim drops them): left as they are.
    if (verdicts.every((v) => v === "gone")) return back;
    back += verdicts.filter((v) => v === "back").length;
    if ((await leave(client, keys, name, start)) === null) return back;
  }
}
