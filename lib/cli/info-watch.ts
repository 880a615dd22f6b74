// `info --watch` and a queue it cannot read (a key of another type, a name no queue may have):
// the watch goes on (the others are still worth watching, and the key may be mended), each
// report shows that queue as unreadable, and stderr says so when it changes (a queue turns
// unreadable, or its reason changes, or it reads again), not every tick: a key that stays
// broken would bury the reports in the same line.
import { safeText } from "../safe-text.ts";
import type { QueueSeen } from "./info-out.ts";

/** Each unreadable queue's reason, by queue. */
export type Unreadable = ReadonlyMap<string, string>;

/** Which of `queues` (a report's) are unreadable, and a stderr line for each change since `before`. */
export function unreadableChanges(
  before: Unreadable,
  queues: readonly QueueSeen[],
): { now: Unreadable; lines: string[] } {
  const now = new Map<string, string>();
  const readable = new Set<string>();
  for (const q of queues) {
    if (q.unreadable !== undefined) now.set(q.queue, q.unreadable);
    else readable.add(q.queue);
  }
  const lines: string[] = [];
  for (const [queue, why] of now) {
    if (before.get(queue) !== why)
      lines.push(`info: queue ${safeText(queue)} unreadable: ${safeText(why)}`);
  }
  // A queue gone from the report (its keys deleted) is no longer watched: nothing to say.
  for (const queue of before.keys()) {
    if (readable.has(queue)) lines.push(`info: queue ${safeText(queue)} readable again`);
  }
  return { now, lines };
}
