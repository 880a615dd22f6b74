// A one-off `info` (not --watch) written as it is read: each queue's block, or its JSON, goes
// out once read and is dropped, so the output of 100,000 queues is never held whole
// (lib/admin/info.ts infoStream). The text and the JSON are those of formatInfo and of the
// whole report printed at once, byte for byte.
import type { InfoStream } from "../admin/info.ts";
import { safeJson, safeText } from "../safe-text.ts";
import { formatMemory, formatQueue } from "./info-text.ts";
import { writeOut } from "./write-out.ts";

/** Writes the report to stdout as text (or one JSON object); whether every queue was readable. */
export async function writeInfo(
  stream: InfoStream,
  json: boolean,
  prefix: string,
): Promise<boolean> {
  let readable = true;
  let count = 0;
  if (json) {
    // `{"time":…,"redis":…}` opened up for the queues: the order of InfoReport's keys.
    const head = safeJson({ time: stream.time, redis: stream.redis });
    await writeOut(`${head.slice(0, -1)},"queues":[`);
    for await (const q of stream.queues) {
      if ("unreadable" in q) readable = false;
      await writeOut(`${count++ === 0 ? "" : ","}${safeJson(q)}`);
    }
    await writeOut("]}\n");
    return readable;
  }
  // Blocks one blank line apart, as formatInfo joins them.
  const part = (text: string) => writeOut(`${count++ === 0 ? "" : "\n\n"}${text}`);
  if (stream.redis) await part(formatMemory(stream.redis));
  let queues = 0;
  for await (const q of stream.queues) {
    if ("unreadable" in q) readable = false;
    queues++;
    await part(formatQueue(q));
  }
  if (queues === 0) await part(`no queue under prefix ${safeText(prefix)}`);
  await writeOut("\n");
  return readable;
}
