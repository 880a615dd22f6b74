// End to end through the real CLIs: trigger enqueues, worker counts the words of a page served
// on loopback, result shows them; bulk trigger from a file or stdin, with and without --wait.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  backgroundWorker,
  HTML,
  JOB_ID,
  logEvents,
  pages,
  showJob,
  streamLength,
  workerArgs,
} from "./fixtures/cli/harness.ts";
import { rawRedis, runCli, testPrefix } from "./helpers.ts";

const ARTICLE = await Bun.file(join(import.meta.dir, "fixtures/cli/article.html")).text();
/** Counted by hand; the fixture's comment says which words. */
const ARTICLE_WORDS = 9;

const tmp = mkdtempSync(join(tmpdir(), "courier-cli-e2e-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `/words/<n>` answers a paragraph of exactly n words. */
function wordPages() {
  return pages((path) => {
    const n = Number(path.split("/")[2]);
    const words = Array.from({ length: n }, (_, i) => `w${i}`).join(" ");
    return new Response(`<html><body><p>${words}</p></body></html>`, { headers: HTML });
  });
}

describe("one URL", () => {
  test("trigger prints an id, worker --burst counts the page, result shows the count", async () => {
    const prefix = testPrefix();
    const site = pages(() => new Response(ARTICLE, { headers: HTML }));
    try {
      const url = site.url("/article");
      const trig = await runCli("trigger", ["--prefix", prefix, "--url", url]);
      expect(trig.code).toBe(0);
      expect(trig.stderr).toBe("");
      expect(trig.stdout).toEndWith("\n");
      expect(trig.stdout.trim().split("\n")).toHaveLength(1);
      const id = trig.stdout.trim();
      expect(id).toMatch(JOB_ID);

      const work = await runCli("worker", workerArgs(prefix, "--burst", "--name", "w-e2e"));
      expect(work.code).toBe(0);
      const finished = logEvents(work.stdout).filter((e) => e.event === "finished");
      expect(finished.map((e) => e.job)).toEqual([id]);
      expect(site.hits("/article")).toBe(1);

      const shown = await runCli("result", ["--prefix", prefix, "--jobid", id]);
      expect(shown.code).toBe(0);
      expect(shown.stderr).toBe("");
      expect(shown.stdout).toMatch(/^status:\s+finished$/m);
      expect(shown.stdout).toMatch(new RegExp(`^\\s+words:\\s+${ARTICLE_WORDS}$`, "m"));

      const { code, job } = await showJob(prefix, id);
      expect(code).toBe(0);
      expect(job).toMatchObject({ id, status: "finished", attempts: 1, worker: "w-e2e" });
      expect(job.result).toMatchObject({
        words: ARTICLE_WORDS,
        title: "Title words are not counted",
        url,
        status: 200,
      });
    } finally {
      site.stop();
    }
  });
});

describe("trigger --file", () => {
  // Line 2 is blank and line 3 is refused: the line numbers count every line of the input.
  const input = [
    "https://example.org/a",
    "",
    "ftp://x",
    "www.example.org/b",
    "# a comment",
    "  https://example.org/c#frag  ",
  ].join("\n");
  const enqueued = ["https://example.org/a", "https://www.example.org/b", "https://example.org/c"];

  test.each(["a file", "stdin"])(
    "from %s: ids of good lines in order, bad line named, exit 2",
    async (from) => {
      const prefix = testPrefix();
      const path = join(tmp, `${prefix}.txt`);
      await Bun.write(path, input);
      const args = ["--prefix", prefix, "--file", from === "stdin" ? "-" : path];
      const r = await runCli("trigger", args, { stdin: from === "stdin" ? input : undefined });

      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^trigger: line 3: .*ftp:\/\/x/m);
      expect(r.stderr).not.toMatch(/line [1245]\b/);
      const ids = r.stdout.trim().split("\n");
      expect(ids).toHaveLength(enqueued.length);
      for (const id of ids) expect(id).toMatch(JOB_ID);

      // Each id belongs to the URL on its line: the order is the input's.
      const shown = await Promise.all(ids.map((id) => showJob(prefix, id)));
      expect(shown.map((s) => s.code)).toEqual([3, 3, 3]);
      expect(shown.map((s) => s.job.status)).toEqual(["queued", "queued", "queued"]);
      expect(shown.map((s) => (s.job.payload as { url: string }).url)).toEqual(enqueued);
      await using redis = await rawRedis();
      expect(await streamLength(redis, prefix)).toBe(3);
    },
  );

  test("--wait with a worker running: one line per job in input order, then --json", async () => {
    const prefix = testPrefix();
    const site = wordPages();
    const worker = backgroundWorker(prefix, "--concurrency", "4");
    try {
      const counts = [3, 1, 12, 5];
      const urls = counts.map((n) => site.url(`/words/${n}`));
      const path = join(tmp, `${prefix}.txt`);
      await Bun.write(path, `${urls.join("\n")}\n`);

      // Started: its tasks are live, so trigger says nothing of a missing worker.
      await worker.logged("worker started");
      const text = await runCli("trigger", ["--prefix", prefix, "--file", path, "--wait", "30"]);
      expect(text.code).toBe(0);
      expect(text.stderr).toBe("");
      const lines = text.stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(counts.length);
      lines.forEach((line, i) => {
        const [id, status, gist] = line.split(/ {2,}/, 3);
        expect(id).toMatch(JOB_ID);
        expect(status).toBe("finished");
        expect(gist).toBe(`${counts[i]} ${counts[i] === 1 ? "word" : "words"}`);
        expect(line).toEndWith(urls[i]!);
      });

      const args = ["--prefix", prefix, "--file", path, "--json", "--wait", "30"];
      const json = await runCli("trigger", args);
      expect(json.code).toBe(0);
      const objects = json.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(objects.map((o) => o.line)).toEqual([1, 2, 3, 4]);
      expect(objects.map((o) => o.status)).toEqual(counts.map(() => "finished"));
      expect(objects.map((o) => o.result.words)).toEqual(counts);
      expect(objects.map((o) => o.attempts)).toEqual(counts.map(() => 1));
      // Second run: new jobs, so each page was fetched once per run.
      for (const n of counts) expect(site.hits(`/words/${n}`)).toBe(2);
    } finally {
      worker.proc.kill("SIGTERM");
      const ended = await worker.ended();
      site.stop();
      expect(ended.code).toBe(0);
    }
  });
});
