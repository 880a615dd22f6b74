// Workers that die or are stopped mid-job, through the real CLIs: a SIGKILLed worker's job is
// claimed by another once its lease lapses (or dead-lettered on its last attempt); SIGTERM lets
// a running job finish; a second SIGTERM exits at once; SIGTERM with a short grace releases the
// job at once, uncounted, for the next worker.
import { describe, expect, test } from "bun:test";
import { REPEAT_WINDOW_MS } from "../lib/cli/stop-signals.ts";
import {
  backgroundWorker,
  deadLetters,
  gate,
  HTML,
  logEvents,
  pages,
  pendingCount,
  type Site,
  showJob,
  streamLength,
  triggerOne,
  workerArgs,
} from "./fixtures/cli/harness.ts";
import { rawRedis, runCli, testPrefix, until } from "./helpers.ts";

const PAGE = "<p>slow but steady wins</p>";
const PAGE_WORDS = 4;

/**
 * `/slow` holds its first answer until `release.open()` (or `holdMs` passes, as a backstop);
 * later requests are answered at once.
 */
function slowPage(holdMs: number) {
  const release = gate();
  let firstAnswered = false;
  const site = pages(async (_path, n) => {
    if (n === 1) {
      await Promise.race([release.wait, Bun.sleep(holdMs)]);
      firstAnswered = true;
    }
    return new Response(PAGE, { headers: HTML });
  });
  return { site, release, url: site.url("/slow"), firstAnswered: () => firstAnswered };
}

/** Enqueues `url` (`/slow`) and starts worker A (lease 1 s); resolves once A is fetching it. */
async function startOnA(prefix: string, url: string, site: Site, ...trigger: string[]) {
  const id = await triggerOne(prefix, url, ...trigger);
  const a = backgroundWorker(prefix, "--claim-idle-ms", "1000", "--name", "A");
  await until(() => site.hits("/slow") === 1, "worker A to fetch the page");
  return { id, a };
}

/** The job is still marked as A's first attempt: nobody recorded an outcome. */
async function expectLeftByA(prefix: string, id: string): Promise<void> {
  const { code, job } = await showJob(prefix, id);
  expect(code).toBe(3);
  expect(job).toMatchObject({ status: "started", attempts: 1, worker: "A" });
}

/** Like startOnA, then SIGKILLs A mid-fetch. */
async function killMidJob(prefix: string, url: string, site: Site, ...trigger: string[]) {
  const { id, a } = await startOnA(prefix, url, site, ...trigger);
  a.proc.kill("SIGKILL");
  const killedAt = Date.now();
  await a.ended();
  expect(a.proc.signalCode).toBe("SIGKILL");
  await expectLeftByA(prefix, id);
  return { id, killedAt };
}

/** Worker B, in burst mode with a 1 s lease: it claims what A left behind. */
function workerB(prefix: string) {
  return runCli("worker", workerArgs(prefix, "--claim-idle-ms", "1000", "--burst", "--name", "B"));
}

describe("crash", () => {
  test("a SIGKILLed worker's job is claimed by another after --claim-idle-ms", async () => {
    const prefix = testPrefix();
    const { site, release, url } = slowPage(20_000);
    try {
      const { id, killedAt } = await killMidJob(prefix, url, site);
      const b = await workerB(prefix);
      expect(b.code).toBe(0);
      // A renewed its lease every 333 ms until it died; B took the job only once it lapsed.
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(600);
      const events = logEvents(b.stdout);
      expect(events.find((e) => e.event === "claimed")).toMatchObject({ job: id, attempt: 2 });
      expect(events.filter((e) => e.event === "finished").map((e) => e.job)).toEqual([id]);

      const { code, job } = await showJob(prefix, id);
      expect(code).toBe(0);
      expect(job).toMatchObject({ status: "finished", attempts: 2, worker: "B" });
      expect(job.result).toMatchObject({ words: PAGE_WORDS });
      expect(site.hits("/slow")).toBe(2);
    } finally {
      release.open();
      site.stop();
    }
  });

  test("a job whose worker died on its last attempt is dead-lettered, not run again", async () => {
    const prefix = testPrefix();
    const { site, release, url } = slowPage(20_000);
    try {
      const { id } = await killMidJob(prefix, url, site, "--max-attempts", "1");
      const b = await workerB(prefix);
      expect(b.code).toBe(0);
      const deadLettered = logEvents(b.stdout).filter((e) => e.event.endsWith("dead-lettered"));
      expect(deadLettered.map((e) => e.job)).toEqual([id]);
      expect(site.hits("/slow")).toBe(1);

      const { code, job } = await showJob(prefix, id);
      expect(code).toBe(1);
      expect(job).toMatchObject({ status: "failed", attempts: 1, result: null });
      expect(job.error).toBe("abandoned: its worker stopped during attempt 1 of 1");
      await using redis = await rawRedis();
      const letters = await deadLetters(redis, prefix);
      expect(letters).toEqual([expect.objectContaining({ id, attempts: "1", error: job.error })]);
      expect(await streamLength(redis, prefix)).toBe(0);
    } finally {
      release.open();
      site.stop();
    }
  });
});

describe("graceful shutdown", () => {
  test("SIGTERM during a job: the job finishes, the worker exits 0, nothing pending", async () => {
    const prefix = testPrefix();
    const { site, release, url } = slowPage(1_500);
    try {
      const id = await triggerOne(prefix, url);
      const worker = backgroundWorker(prefix, "--name", "graceful");
      await until(() => site.hits("/slow") === 1, "the worker to fetch the page");
      worker.proc.kill("SIGTERM");
      await worker.logged("stopping: waiting for jobs in flight");
      expect(worker.proc.exitCode).toBeNull();
      release.open();
      const ended = await worker.ended();
      expect(ended.code).toBe(0);
      expect(ended.stderr).toBe("");
      const events = logEvents(ended.stdout).map((e) => e.event);
      expect(events.slice(-2)).toEqual(["finished", "worker stopped"]);

      const { code, job } = await showJob(prefix, id);
      expect(code).toBe(0);
      expect(job).toMatchObject({ status: "finished", attempts: 1, worker: "graceful" });
      await using redis = await rawRedis();
      expect(await pendingCount(redis, prefix)).toBe(0);
      expect(await streamLength(redis, prefix)).toBe(0);
    } finally {
      release.open();
      site.stop();
    }
  });

  test("a second SIGTERM exits at once (130); the job is then claimed as after a crash", async () => {
    const prefix = testPrefix();
    const { site, release, url } = slowPage(20_000);
    try {
      const { id, a } = await startOnA(prefix, url, site);
      a.proc.kill("SIGTERM");
      await a.logged("stopping: waiting for jobs in flight");
      // A second signal is one sent a second or more after the first (closer, it is a copy of
      // the first: a hang-up's, or Ctrl-C's through npm run): as a person gives up on a drain.
      await Bun.sleep(REPEAT_WINDOW_MS + 100);
      a.proc.kill("SIGTERM");
      const ended = await a.ended();
      expect(ended.code).toBe(130);
      // The worker's own exit, said by its warning alone: not as a task's process.exit.
      const events = logEvents(ended.stdout).map((e) => e.event);
      expect(events.at(-1)).toStartWith("second signal: exiting now");
      await expectLeftByA(prefix, id);
      await using redis = await rawRedis();
      expect(await pendingCount(redis, prefix)).toBe(1);

      const b = await workerB(prefix);
      expect(b.code).toBe(0);
      const { code, job } = await showJob(prefix, id);
      expect(code).toBe(0);
      expect(job).toMatchObject({ status: "finished", attempts: 2, worker: "B" });
      expect(await pendingCount(redis, prefix)).toBe(0);
    } finally {
      release.open();
      site.stop();
    }
  });

  test("SIGTERM with --shutdown-grace-ms 100: exits 0 at once and releases the job", async () => {
    const prefix = testPrefix();
    const { site, release, url, firstAnswered } = slowPage(20_000);
    try {
      const id = await triggerOne(prefix, url);
      const worker = backgroundWorker(prefix, "--shutdown-grace-ms", "100", "--name", "quitter");
      await until(() => site.hits("/slow") === 1, "the worker to fetch the page");
      worker.proc.kill("SIGTERM");
      const ended = await worker.ended();
      expect(ended.code).toBe(0);
      // "At once": it exited while the page it was fetching was still held, not after it.
      expect(firstAnswered()).toBe(false);
      const released = logEvents(ended.stdout).find((e) => e.event === "released unfinished jobs");
      expect(released).toMatchObject({ count: 1 });

      // Released, not failed: back in the queue, and the unfinished start is not counted.
      const back = await showJob(prefix, id);
      expect(back.code).toBe(3);
      expect(back.job).toMatchObject({ status: "queued", attempts: 0, worker: null, error: null });
      await using redis = await rawRedis();
      expect(await pendingCount(redis, prefix)).toBe(0);
      expect(await streamLength(redis, prefix)).toBe(1);

      const next = await runCli("worker", workerArgs(prefix, "--burst", "--name", "next"));
      expect(next.code).toBe(0);
      const { code, job } = await showJob(prefix, id);
      expect(code).toBe(0);
      expect(job).toMatchObject({ status: "finished", attempts: 1, worker: "next" });
      expect(job.result).toMatchObject({ words: PAGE_WORDS });
      expect(site.hits("/slow")).toBe(2);
    } finally {
      release.open();
      site.stop();
    }
  });
});
