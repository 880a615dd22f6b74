// The I/O-bound workload's pages: a local server on 127.0.0.1 that answers every request after
// 100 ms with the same small article, so a job's time is mostly waiting, as with a real site.
import type { Server } from "bun";

export const PAGE_DELAY_MS = 100;

const PARAGRAPH =
  "Courier moves slow work from producers to background workers through Redis streams, " +
  "so a producer keeps answering while the workers fetch pages and count their words.";

/** About 4 KB of HTML: a title, a heading, twelve paragraphs, a script a reader never sees. */
export const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Bench page</title><script>var hidden = "not counted";</script></head><body>
<h1>A page for the word-count benchmark</h1>
${Array.from({ length: 12 }, (_, i) => `<p>${i + 1}. ${PARAGRAPH}</p>`).join("\n")}
</body></html>`;

export function startPageServer(delayMs = PAGE_DELAY_MS): Server<undefined> {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch() {
      await Bun.sleep(delayMs);
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    },
  });
}
