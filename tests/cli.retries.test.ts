// Retries through the real CLIs, with the worker's default back-off (about 1 s, then 2 s):
// a page that recovers finishes on a later attempt; one that never does is dead-lettered.
import { describe, expect, test } from "bun:test";
import {
  deadLetters,
  HTML,
  logEvents,
  pages,
  showJob,
  triggerOne,
  workerArgs,
} from "./fixtures/cli/harness.ts";
import { rawRedis, runCli, testPrefix } from "./helpers.ts";

/** `/flaky` answers 503 to its first two requests, then a page; `/down` always answers 503. */
function site() {
  return pages((path, n) =>
    path === "/flaky" && n > 2
      ? new Response("<p>back up again</p>", { headers: HTML })
      : new Response("busy", { status: 503 }),
  );
}

describe("retries", () => {
  test("503 twice, then 200: finished on attempt 3", async () => {
    const prefix = testPrefix();
    const pagesSite = site();
    try {
      const id = await triggerOne(prefix, pagesSite.url("/flaky"));
      const work = await runCli("worker", workerArgs(prefix, "--burst"));
      expect(work.code).toBe(0);
      const events = logEvents(work.stdout).filter((e) => e.job === id);
      expect(events.map((e) => [e.event, e.attempt])).toEqual([
        ["failed, will retry", "1/3"],
        ["failed, will retry", "2/3"],
        ["finished", "3/3"],
      ]);
      expect(pagesSite.hits("/flaky")).toBe(3);

      const { code, job } = await showJob(prefix, id);
      expect(code).toBe(0);
      expect(job).toMatchObject({ status: "finished", attempts: 3, maxAttempts: 3, error: null });
      expect(job.result).toMatchObject({ words: 3, status: 200 });
      await using redis = await rawRedis();
      expect(await deadLetters(redis, prefix)).toEqual([]);
    } finally {
      pagesSite.stop();
    }
  });

  test("always 503 with --max-attempts 2: failed, exit 1, and a dead letter", async () => {
    const prefix = testPrefix();
    const pagesSite = site();
    try {
      const id = await triggerOne(prefix, pagesSite.url("/down"), "--max-attempts", "2");
      const work = await runCli("worker", workerArgs(prefix, "--burst"));
      expect(work.code).toBe(0);
      expect(pagesSite.hits("/down")).toBe(2);
      const failed = logEvents(work.stdout).filter((e) => e.event === "failed");
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ level: "error", job: id, attempt: "2/2" });

      const { code, job } = await showJob(prefix, id);
      expect(code).toBe(1);
      expect(job).toMatchObject({ status: "failed", attempts: 2, maxAttempts: 2, result: null });
      expect(job.error).toMatch(/\b503\b/);
      const plain = await runCli("result", ["--prefix", prefix, "--jobid", id]);
      expect(plain.code).toBe(1);
      expect(plain.stdout).toMatch(/^status:\s+failed$/m);
      expect(plain.stdout).toMatch(/^error:\s+HTTP 503/m);

      await using redis = await rawRedis();
      expect(await deadLetters(redis, prefix)).toEqual([
        expect.objectContaining({ id, task: "wordcount", attempts: "2", error: job.error }),
      ]);
    } finally {
      pagesSite.stop();
    }
  });
});
