// A 429 from a redirect's target (docs/internals.md, "Rate limits"): the host that answered is
// held, not the job's own, so the first host's other pages keep running; the job itself waits
// the hold out without spending an attempt. Runs on a cluster too (COURIER_TEST_CLUSTER=1).
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { createWordCountTask } from "../lib/tasks/wordcount/index.ts";
import { openQueue, redisUrl, servePages, startWorker, testPrefix, until } from "./helpers.ts";

const wordcount = createWordCountTask({ allowPrivate: true, timeoutMs: 5_000 });

describe("a 429 after a redirect", () => {
  test("holds the redirect target's host, not the job's own", async () => {
    const prefix = testPrefix();
    const target = servePages(
      () => new Response("slow", { status: 429, headers: { "retry-after": "60" } }),
    );
    const targetHost = `127.0.0.1:${target.port}`;
    const origin = servePages((req) => {
      if (new URL(req.url).pathname === "/moved") {
        return new Response(null, { status: 301, headers: { location: `http://${targetHost}/x` } });
      }
      return new Response("<p>ok</p>", { headers: { "content-type": "text/html" } });
    });
    const originHost = `127.0.0.1:${origin.port}`;
    await using q = await openQueue({ prefix, queue: "crawl" });
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "crawl" });
    const w = await startWorker({ prefix, queue: "crawl", tasks: [wordcount] });
    try {
      const moved = await q.enqueue(wordcount, { url: `http://${originHost}/moved` });
      await until(async () => (await admin.limitsView()).heldTotal === 1, "the hold");
      expect((await admin.limitsView()).held.map((h) => h.key)).toEqual([targetHost]);
      // The origin is not held: its other page runs at once.
      const other = await q.enqueue(wordcount, { url: `http://${originHost}/fine` });
      expect((await q.waitForJobs([other], { timeoutMs: 10_000 })).pending).toEqual([]);
      // The redirected job waits out the target's hold, no attempt spent.
      expect(await q.getJob(moved)).toMatchObject({ status: "queued", attempts: 0 });
    } finally {
      await w.stop(1_000);
      await admin.close();
      origin.stop(true);
      target.stop(true);
    }
  }, 30_000);
});
