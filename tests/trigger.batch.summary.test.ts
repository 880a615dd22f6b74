// `trigger --file - --summary` end to end through the real CLIs: a batch of 500 pages from a
// local site, workers running one job at a time, the last two pages held until both are being
// fetched (so by two workers) and then answered together: the last two children end at the
// same moment on two workers. A third worker is free meanwhile, to take the callback should it
// be released before both have ended. The summary equals the sum of the children's stored
// counts and their top words merged, and the callback runs exactly once (its history, and the
// workers' logs).
import { describe, expect, test } from "bun:test";
import type { WordFrequency } from "../lib/tasks/wordcount/count.ts";
import type { WordCountSummary } from "../lib/tasks/wordcount/summary.ts";
import { backgroundWorker, gate, HTML, JOB_ID, logEvents, pages } from "./fixtures/cli/harness.ts";
import { openQueue, runCli, testPrefix } from "./helpers.ts";

const PAGES = 500;
// More words than a page lists (10): each page's list is a part of them, so the merge is the
// sum over the pages that listed a word, not the site's count, and the test checks just that.
const VOCABULARY =
  "river stone light cloud field north quiet amber maple harbor lantern meadow orchard summit willow".split(
    " ",
  );

/** Page i: each word of the vocabulary 0 to 6 times, in a pattern that varies with i. */
function pageWords(i: number): string[] {
  return VOCABULARY.flatMap((word, j) => Array<string>((i * 7 + j * j * 3 + j) % 7).fill(word));
}

/**
 * The site: `/p/<i>`. The `held` pages are answered together, when the test calls `release`;
 * `asked` resolves once each of them is being fetched.
 */
function site(held: readonly number[]) {
  const asked = gate();
  const release = gate();
  let n = 0;
  const server = pages(async (path) => {
    const i = Number(path.split("/")[2]);
    if (held.includes(i)) {
      if (++n === held.length) asked.open();
      await release.wait;
    }
    return new Response(`<html><body><p>${pageWords(i).join(" ")}</p></body></html>`, {
      headers: HTML,
    });
  });
  return { ...server, asked: asked.wait, release: release.open };
}

/** Every word's sum over the pages that listed it, ranked as a page's list is; the top 10. */
function mergedTop(lists: WordFrequency[][]): WordFrequency[] {
  const sums = new Map<string, number>();
  for (const list of lists)
    for (const { word, count } of list) sums.set(word, (sums.get(word) ?? 0) + count);
  return [...sums]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, 10)
    .map(([word, count]) => ({ word, count }));
}

describe("trigger --file - --summary", () => {
  test(`${PAGES} pages, the last two ending together on two workers: the summary adds up the children, the callback runs once`, async () => {
    const prefix = testPrefix();
    // The file's last two lines: with one job at a time per worker, two workers end up holding
    // one each, and neither is answered before the other is asked for.
    const { asked, ...server } = site([PAGES - 2, PAGES - 1]);
    const workers = [1, 2, 3].map((n) =>
      backgroundWorker(prefix, "--concurrency", "1", "--name", `w${n}`),
    );
    try {
      const urls = Array.from({ length: PAGES }, (_, i) => server.url(`/p/${i}`));
      const trig = await runCli(
        "trigger",
        ["--prefix", prefix, "--file", "-", "--summary", "--json"],
        {
          stdin: `${urls.join("\n")}\n`,
          timeoutMs: 60_000,
        },
      );
      expect(trig.stderr).toBe("");
      expect(trig.code).toBe(0);
      const lines = trig.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(PAGES + 1);
      const children = lines.slice(0, PAGES).map((l) => l.id as string);
      for (const id of children) expect(id).toMatch(JOB_ID);
      const last = lines[PAGES];
      expect(last).toEqual({
        callback: expect.any(String),
        task: "wordcount-summary",
        jobs: PAGES,
        created: true,
      });

      // Both held pages are being fetched, by two workers (one job at a time each): the callback
      // still waits for them, while the third worker is free to run it.
      await asked;
      await using queue = await openQueue({ prefix });
      expect((await queue.getJob(last.callback))?.status).toBe("waiting-for-parents");
      server.release();
      const shown = await runCli(
        "result",
        ["--prefix", prefix, last.callback, "--wait", "90", "--json"],
        {
          timeoutMs: 100_000,
        },
      );
      expect(shown.code).toBe(0);
      const callback = JSON.parse(shown.stdout);
      expect(callback).toMatchObject({
        status: "finished",
        attempts: 1,
        task: "wordcount-summary",
      });
      expect(callback.history).toHaveLength(1);

      const records = await queue.getJobs(children);
      const results = records.map((r) => r?.result as { words: number; topWords: WordFrequency[] });
      expect(records.every((r) => r?.status === "finished")).toBe(true);
      // The two held pages were fetched once each, and run by two workers, one each.
      expect([server.hits(`/p/${PAGES - 2}`), server.hits(`/p/${PAGES - 1}`)]).toEqual([1, 1]);
      expect(new Set(records.slice(-2).map((r) => r?.worker)).size).toBe(2);
      // Each child counted its page: the words the site wrote.
      const written = Array.from({ length: PAGES }, (_, i) => pageWords(i).length);
      expect(results.map((r) => r.words)).toEqual(written);

      const summary = callback.result as WordCountSummary;
      expect(summary).toEqual({
        words: written.reduce((a, b) => a + b, 0),
        pages: PAGES,
        counted: PAGES,
        failed: 0,
        topWords: mergedTop(results.map((r) => r.topWords)),
        topWordsExact: true,
        failures: [],
      });
      // The callback ran once: the workers' logs together say one thing of it, its `finished`.
      for (const w of workers) w.proc.kill("SIGTERM");
      const logs = await Promise.all(workers.map((w) => w.ended()));
      const runs = logs.flatMap((l) => logEvents(l.stdout)).filter((e) => e.job === last.callback);
      expect(runs.map((e) => e.event)).toEqual(["finished"]);
    } finally {
      for (const w of workers) w.proc.kill("SIGKILL");
      server.stop();
    }
  }, 180_000);
});
