// Cancel end to end through the CLIs (bin/cancel.ts → Admin.cancel → cancel.lua; the worker's
// look at the `canceled` set, lib/worker/cancels.ts): a queued job never runs (the page server
// sees no request for it), a running one's fetch is aborted and nothing of its run is written,
// the worker goes on; a second cancel is a no-op; unknown ids exit 4; ended jobs are left alone.
import { describe, expect, test } from "bun:test";
import {
  backgroundWorker,
  gate,
  HTML,
  logEvents,
  pages,
  showJob,
  triggerOne,
  workerArgs,
} from "./fixtures/cli/harness.ts";
import {
  onOneServer,
  runCli,
  servePages,
  spawnCli,
  testPrefix,
  until,
  waitForLine,
} from "./helpers.ts";

const cancel = (prefix: string, ...ids: string[]) =>
  runCli("cancel", ["--prefix", prefix, "--jobid", ...ids]);

describe("a queued job", () => {
  test("canceled before any worker runs: it never runs, result exits 8, a second cancel is a no-op", async () => {
    const prefix = testPrefix();
    const site = pages(() => new Response("<p>never asked for</p>", { headers: HTML }));
    try {
      const id = await triggerOne(prefix, site.url("/queued"));
      // A waiter blocked on the job ends with the cancel (its event), as on a failure.
      const waiter = spawnCli("result", ["--prefix", prefix, "--jobid", id, "--wait", "20"]);
      const first = await cancel(prefix, id);
      expect(first).toEqual({ code: 0, stdout: `${id}: canceled (was queued)\n`, stderr: "" });
      expect(await waiter.exited).toBe(8);
      // Its entry is gone from the stream: nothing waits; `info` counts the cancel.
      const info = await runCli("info", ["--prefix", prefix, "--queue", "default", "--json"]);
      const [queue] = JSON.parse(info.stdout).queues;
      expect([queue.waiting, queue.inFlight, queue.totals.canceled]).toEqual([0, 0, 1]);
      const infoText = await runCli("info", ["--prefix", prefix, "--queue", "default"]);
      expect(infoText.stdout).toMatch(/^ {2}canceled {3}1 job in all \(cancel\)$/m);

      const work = await runCli("worker", workerArgs(prefix, "--burst"));
      expect(work.code).toBe(0);
      expect(logEvents(work.stdout).filter((e) => e.job === id)).toEqual([]);
      expect(site.hits("/queued")).toBe(0);

      const shown = await showJob(prefix, id);
      expect(shown.code).toBe(8);
      expect(shown.job).toMatchObject({
        id,
        status: "canceled",
        note: "while queued",
        result: null,
      });
      const text = await runCli("result", ["--prefix", prefix, id]);
      expect(text.code).toBe(8);
      expect(text.stdout).toMatch(/^status:\s+canceled \(while queued\)$/m);

      const again = await cancel(prefix, id);
      expect(again).toEqual({
        code: 0,
        stdout: `${id}: already canceled, nothing to cancel\n`,
        stderr: "",
      });
      const json = await runCli("cancel", ["--prefix", prefix, "--json", id]);
      expect(JSON.parse(json.stdout)).toEqual({ id, verdict: "ended", status: "canceled" });
    } finally {
      site.stop();
    }
  });
});

describe("trigger --wait", () => {
  test("ends when its job is canceled: printed as canceled, exit 1 (not every job finished)", async () => {
    const prefix = testPrefix();
    const site = pages(() => new Response("<p>x</p>", { headers: HTML }));
    try {
      const args = ["--prefix", prefix, "--url", site.url("/w"), "--wait", "20", "--json"];
      const trig = spawnCli("trigger", args);
      const line = await waitForLine(trig.stderr, /^trigger: job \S+ enqueued, waiting for it$/);
      const id = line.split(" ")[2]!;
      expect((await cancel(prefix, id)).code).toBe(0);
      expect(await trig.exited).toBe(1);
      const out = JSON.parse(await new Response(trig.stdout).text());
      expect(out).toMatchObject({ id, status: "canceled", note: "while queued" });
      expect(site.hits("/w")).toBe(0);
    } finally {
      site.stop();
    }
  });
});

describe("a running job", () => {
  test("its fetch is aborted, status canceled, no result written; the worker goes on", async () => {
    const prefix = testPrefix();
    const arrived = gate();
    let aborted = false;
    const server = servePages((req) => {
      if (new URL(req.url).pathname === "/fast") {
        return new Response("<p>one two three</p>", { headers: HTML });
      }
      arrived.open();
      // Answers only once the client gives up: the abort must come from the worker's signal.
      return new Promise<Response>((resolve) => {
        req.signal.addEventListener("abort", () => {
          aborted = true;
          resolve(new Response("too late", { headers: HTML }));
        });
      });
    });
    const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
    const worker = backgroundWorker(prefix, "--name", "w-cancel");
    try {
      const id = await triggerOne(prefix, url("/slow"));
      await arrived.wait;
      const done = await cancel(prefix, id);
      expect(done).toEqual({ code: 0, stdout: `${id}: canceled (was started)\n`, stderr: "" });
      await until(() => aborted, "the page request to be aborted");
      await worker.logged("canceled (the task's outcome is ignored)", id);

      const shown = await showJob(prefix, id);
      expect(shown.code).toBe(8);
      expect(shown.job).toMatchObject({
        status: "canceled",
        note: "while started",
        worker: "w-cancel",
        result: null,
        error: null,
      });

      const next = await triggerOne(prefix, url("/fast"));
      await worker.logged("finished", next);
      expect((await showJob(prefix, next)).job).toMatchObject({ status: "finished" });
      const events = worker.events().filter((e) => e.job === id);
      expect(events.map((e) => e.event)).toEqual(["canceled (the task's outcome is ignored)"]);
    } finally {
      worker.proc.kill("SIGTERM");
      expect((await worker.ended()).code).toBe(0);
      server.stop(true);
    }
  });
});

describe("ids that cannot be canceled", () => {
  test("an unknown id: its line on stderr, exit 4; the others are still canceled", async () => {
    const prefix = testPrefix();
    const site = pages(() => new Response("<p>x</p>", { headers: HTML }));
    try {
      const id = await triggerOne(prefix, site.url("/a"));
      const r = await cancel(prefix, "no-such-job", id);
      expect(r.code).toBe(4);
      expect(r.stdout).toBe(`${id}: canceled (was queued)\n`);
      expect(r.stderr).toBe(
        `cancel: no-such-job: no such job in queue "default" (prefix ${prefix}): unknown id, or its record has expired, or it is in another queue (--queue)\n`,
      );
    } finally {
      site.stop();
    }
  });

  test("a finished job: left as it is, exit 0", async () => {
    const prefix = testPrefix();
    const site = pages(() => new Response("<p>one two</p>", { headers: HTML }));
    try {
      const id = await triggerOne(prefix, site.url("/done"));
      expect((await runCli("worker", workerArgs(prefix, "--burst"))).code).toBe(0);
      const r = await cancel(prefix, id);
      expect(r).toEqual({
        code: 0,
        stdout: `${id}: already finished, nothing to cancel\n`,
        stderr: "",
      });
      expect((await showJob(prefix, id)).job).toMatchObject({ status: "finished" });
    } finally {
      site.stop();
    }
  });

  // Refused before Redis is reached: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer)("bad usage: no id, or a malformed one, exit 2", async () => {
    const none = await runCli("cancel", ["--prefix", testPrefix()]);
    expect(none.code).toBe(2);
    expect(none.stderr).toStartWith("cancel: give the job ids");
    const bad = await runCli("cancel", ["--prefix", testPrefix(), "a b"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('cancel: "a b" is not a job id');
  });

  test("ids from stdin with -", async () => {
    const prefix = testPrefix();
    const site = pages(() => new Response("<p>x</p>", { headers: HTML }));
    try {
      const a = await triggerOne(prefix, site.url("/a"));
      const b = await triggerOne(prefix, site.url("/b"));
      const r = await runCli("cancel", ["--prefix", prefix, "-"], { stdin: `${a}\n\n${b}\n` });
      expect(r).toEqual({
        code: 0,
        stdout: `${a}: canceled (was queued)\n${b}: canceled (was queued)\n`,
        stderr: "",
      });
    } finally {
      site.stop();
    }
  });
});
