// The dashboard's job page shows a running job's progress (`ctx.progress`): a number as a
// percentage, an object as its JSON, as text (a task's strings may hold markup); none once the
// job has ended. Also through /api/jobs/:id.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { BrowserContext } from "playwright-core";
import { startDashboard } from "../lib/dashboard/server.ts";
import { injected, launch, textIs } from "./fixtures/chromium.ts";
import { progressShown, stepper } from "./fixtures/progress-steps.ts";
import { openQueue, redisUrl, startWorker, testPrefix } from "./helpers.ts";

let browser: { context: BrowserContext; close: () => Promise<void> };
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser.close();
});

/** The job page's fields, in order (lib/dashboard/client/views.ts showJob). */
const FIELDS = ["status", "note", "task", "attempts", "maxAttempts", "worker", "progress"];
/** The <dd> of the field `name` on the job page. */
const field = (name: string) => `#job-fields dd:nth-of-type(${FIELDS.indexOf(name) + 1})`;

test("the job page shows a running job's progress, as text, and none once it ended", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const markup = `<img src=x onerror="document.title='progress'">`;
  const { task, next } = stepper([42.25, { stage: markup }]);
  const w = await startWorker({ prefix, tasks: [task], progressMinIntervalMs: 1 });
  const id = await q.enqueue("steps", null);
  const progressIs = (v: unknown) => progressShown(q, id, v);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  try {
    await progressIs(42.25);
    const api = await (await fetch(`${d.url}/api/jobs/${id}`)).json();
    expect(api).toMatchObject({ status: "started", progress: 42.25 });
    const page = await browser.context.newPage();
    await page.goto(`${d.url}/#/jobs/${id}`);
    await textIs(page, field("progress"), "42.3%");
    // The open page follows the job at the live snapshots' pace, with no reload.
    next();
    await textIs(page, field("progress"), JSON.stringify({ stage: markup }));
    expect(await injected(page)).toEqual([]);
    next();
    await textIs(page, field("status"), "finished");
    expect(await page.textContent(field("progress"))).toBe("–");
    await page.close();
  } finally {
    await d.stop();
    await w.stop();
  }
}, 30_000);
