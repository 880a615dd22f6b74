// Writing a long output (cancel's lines, trigger's ids, schedule list's pages) to stdout with
// back-pressure: a slow reader (a pager, a full pipe) holds the producer back, so memory stays
// one chunk or page whatever the count. `write()`'s return value is the signal: on Bun,
// `writableNeedDrain` never turns true (R-192: 20,000 writes returned false 19,936 times while
// it stayed false; `writableLength` stays 0 too), so a check of it never waits.
import { once } from "node:events";

/**
 * Writes `text` to stdout; resolves once it may take more (at once, unless the write returned
 * false: then on `drain`). A write to a closed stdout rejects with its error (EPIPE, EBADF:
 * `once` rejects on `error`), as each caller handles a closed output.
 */
export async function writeOut(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, "drain");
}
