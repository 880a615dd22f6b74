// `info`'s report (a one-off, or each refresh of --watch) written as it is read: each queue's
// block, or its JSON, goes out once read and is dropped, so the output of 100,000 queues is
// never held whole (lib/admin/info.ts infoStream). The text and the JSON are those of
// formatInfo and of the whole report printed at once, byte for byte. Nothing is written before
// the first queue is read: a refusal there (NOPERM) leaves stdout empty, as before; a failure
// further on cuts the output there (the JSON then does not parse), its line on stderr. In
// --watch (`closeCut`) a refresh cut so is closed instead, saying so, so that the next one
// starts a line of its own: `],"incomplete":"<why>"}` ends the JSON object (one per line, each
// one parses), `(report cut short: <why>)` the text.
import type { InfoStream } from "../admin/info.ts";
import { describeCause } from "../redis/cause.ts";
import { safeJson, safeText } from "../safe-text.ts";
import { isClosedOutput } from "./closed-stdout.ts";
import { formatMemory, formatQueue } from "./info-text.ts";
import { writeOut } from "./write-out.ts";

/** A queue as `info --watch` remembers it between reports: its name, and why it is unreadable. */
export interface QueueSeen {
  queue: string;
  unreadable?: string;
}

/**
 * Writes the report to stdout as text (or one JSON object, one line); the queues as seen (name,
 * and why unreadable), for whether all were readable and for --watch's changes.
 */
export async function writeInfo(
  stream: InfoStream,
  json: boolean,
  prefix: string,
  closeCut = false,
): Promise<QueueSeen[]> {
  const seen: QueueSeen[] = [];
  const saw = (q: QueueSeen) => {
    seen.push(
      "unreadable" in q ? { queue: q.queue, unreadable: q.unreadable } : { queue: q.queue },
    );
  };
  let count = 0;
  try {
    return await write();
  } catch (err) {
    if (closeCut && count > 0 && !isClosedOutput(err)) {
      // describeCause: node-redis' TimeoutError, the likely cut here, has no message.
      const why = describeCause(err).split("\n")[0]!;
      await writeOut(
        json ? `],"incomplete":${safeJson(why)}}\n` : `\n\n(report cut short: ${safeText(why)})\n`,
      );
    }
    throw err;
  }

  async function write(): Promise<QueueSeen[]> {
    if (json) {
      // `{"time":…,"redis":…}` opened up for the queues: the order of InfoReport's keys.
      const head = `${safeJson({ time: stream.time, redis: stream.redis }).slice(0, -1)},"queues":[`;
      for await (const q of stream.queues) {
        saw(q);
        await writeOut(`${count++ === 0 ? head : ","}${safeJson(q)}`);
      }
      await writeOut(`${count === 0 ? head : ""}]}\n`);
      return seen;
    }
    // Blocks one blank line apart, as formatInfo joins them; the memory line goes with the first.
    const memory = stream.redis ? [formatMemory(stream.redis)] : [];
    const part = (text: string) => {
      const blocks = count++ === 0 ? [...memory, text] : ["", text];
      return writeOut(blocks.join("\n\n"));
    };
    for await (const q of stream.queues) {
      saw(q);
      await part(formatQueue(q));
    }
    if (count === 0) await part(`no queue under prefix ${safeText(prefix)}`);
    await writeOut("\n");
    return seen;
  }
}
