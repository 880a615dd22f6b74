// `queue.ts events NAME [--from C] [--count N] [--json]` (bin/queue.ts): prints a queue's events
// as they come, one line each, until stopped. The command is a thin citty command around
// `printEvents`; the reading is Queue.events().

import { ERROR_MAX_BYTES } from "../errors.ts";
import type { QueueEvent } from "../queue/event-read.ts";
import type { Queue } from "../queue/queue.ts";
import { cutText, ID_SHOWN_MAX, safeJson, safeText } from "../safe-text.ts";
import { isoOrNull } from "../time.ts";

export interface PrintEventsOptions {
  /** "now" (default), "start", or a cursor a line printed (`--from`). */
  from?: string;
  json?: boolean;
  /** Stops printing (Ctrl-C): the iterator's connections are closed. */
  signal?: AbortSignal;
  /** Writes a line; the next event is read once it resolves (a slow reader holds reads back). */
  write: (line: string) => void | Promise<void>;
  /** Told each failed read, which is tried again (Redis unreachable; failedReadLine words it). */
  onError?: (err: unknown) => void;
}

/**
 * Prints each event: text `<time> <type> <id> [shard s] [<value or error>] cursor=<cursor>`, or
 * with `json` one JSON object a line (`at` as an ISO string). Returns the count printed. A bad
 * `from` throws InputError before anything is read (exit 2 by bin/_cli.ts).
 */
export async function printEvents(queue: Queue, o: PrintEventsOptions): Promise<number> {
  const events = queue.events({ from: o.from ?? "now", onError: o.onError });
  const stop = () => events.close();
  o.signal?.addEventListener("abort", stop, { once: true });
  let printed = 0;
  try {
    for await (const e of events) {
      await o.write(o.json ? safeJson({ ...e, at: isoOrNull(e.at) }) : eventLine(e, queue.shards));
      printed++;
    }
  } finally {
    o.signal?.removeEventListener("abort", stop);
    events.close();
  }
  return printed;
}

/**
 * The most of an event's value or error a text line shows: twice what a worker writes (an error
 * of ERROR_MAX_BYTES, a progress of PROGRESS_MAX_BYTES), so only an event written by hand is cut.
 */
const EVENT_TEXT_SHOWN_MAX = 2 * ERROR_MAX_BYTES;

/**
 * One event as a line of text; what Redis holds is shown with its control characters escaped,
 * and cut (cutText) past what Courier writes: an event of 1 MB written by hand is not a 1 MB line.
 */
export function eventLine(e: QueueEvent, shards: number): string {
  const { type, id, at, shard, cursor, ...rest } = e;
  const cut = (text: string) => cutText(text, EVENT_TEXT_SHOWN_MAX);
  const parts = [
    isoOrNull(at) ?? "-",
    cutText(type, ID_SHOWN_MAX),
    cutText(id, ID_SHOWN_MAX) || "-",
  ];
  if (shards > 1) parts.push(`shard ${shard}`);
  if (type === "gap") parts.push(`events lost after ${rest.after}, resuming at ${rest.resumesAt}`);
  else if ("value" in rest) parts.push(cut(JSON.stringify(rest.value)));
  else if ("error" in rest) parts.push(cut(String(rest.error)));
  parts.push(`cursor=${cursor}`);
  return safeText(parts.join("  "));
}
