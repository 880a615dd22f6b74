// The dashboard's pages in Chromium, beyond the overview (dashboard.browser.test.ts): a job
// page whose every field holds markup shows it as text and creates no element from it; a
// dashboard that guards its reads asks for the token and shows nothing until given it; the
// queue picker switches between the queues under the prefix.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { BrowserContext, Page } from "playwright-core";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { injected, launch, textIs } from "./fixtures/chromium.ts";
import { enqueue, runJob } from "./fixtures/engine.ts";
import {
  openQueue,
  type RawRedis,
  redisUrl,
  spawnCli,
  testPrefix,
  waitForLine,
} from "./helpers.ts";

let browser: { context: BrowserContext; close: () => Promise<void> };
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser.close();
});

/** Markup that would create elements (or end an inline script) if written as HTML. */
const hostile = (field: string) =>
  `<img src=x onerror="document.title='${field}'"></script><script>document.title='${field}'</script><b>${field}</b> & "quotes"`;

async function withDashboard(prefix: string, fn: (d: Dashboard) => Promise<void>) {
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  try {
    await fn(d);
  } finally {
    await d.stop();
  }
}

/** The text of the <dd> that follows the <dt> named `name` on the job page. */
const field = (page: Page, name: string) =>
  page.evaluate(
    (n) =>
      [...document.querySelectorAll("#job-fields dt")].find((dt) => dt.textContent === n)
        ?.nextElementSibling?.textContent,
    name,
  );

test("the job page shows hostile strings in every field as text, creating no element", async () => {
  const prefix = testPrefix();
  const id = "hostile-job";
  const done = "hostile-done";
  const payload = { url: `https://example.org/${hostile("url")}`, note: hostile("payload") };
  const result = { title: hostile("result") };
  // Planted through the engine: a job that failed twice (retried, then failed for good), and
  // one that finished with a result; every field a worker or task writes is hostile. The task
  // name too, though no Courier enqueues one like it (lib/task-check.ts): another writer may.
  await using q = await openQueue({ prefix });
  const planted = (jobId: string, maxAttempts: number) =>
    enqueue(q.client as unknown as RawRedis, q.keys, [
      { id: jobId, task: hostile("task"), payload: JSON.stringify(payload), maxAttempts },
    ]);
  await planted(id, 2);
  await runJob(q.client, q.keys, [
    { worker: hostile("history worker 1"), error: hostile("history error 1"), retry: true },
    { worker: hostile("worker"), error: hostile("error"), retry: false },
  ]);
  await planted(done, 3);
  await runJob(q.client, q.keys, [{ worker: hostile("worker"), result: JSON.stringify(result) }]);
  await withDashboard(prefix, async (d) => {
    const page = await browser.context.newPage();
    await page.goto(`${d.url}/#/jobs/${id}`);
    await textIs(page, "#job-attempts tbody tr:nth-child(2) td.error", hostile("error"));
    expect(await page.textContent("#job-title")).toBe(id);
    for (const name of ["task", "worker", "error"])
      expect(await field(page, name)).toBe(hostile(name));
    expect(await field(page, "status")).toBe("failed");
    expect(await page.textContent("#job-payload")).toBe(JSON.stringify(payload, null, 2));
    const cells = await page.$$eval("#job-attempts tbody tr", (rows) =>
      rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)),
    );
    expect(cells.map((row) => [row[0], row[1], row[4], row[5]])).toEqual([
      ["1", hostile("history worker 1"), "retrying", hostile("history error 1")],
      ["2", hostile("worker"), "failed", hostile("error")],
    ]);
    expect(await injected(page)).toEqual([]);

    // The finished one: its result, and its worker, as text.
    await page.goto(`${d.url}/#/jobs/${done}`);
    await textIs(page, "#job-result", JSON.stringify(result, null, 2));
    expect(await field(page, "worker")).toBe(hostile("worker"));
    expect(await field(page, "status")).toBe("finished");
    expect(await injected(page)).toEqual([]);

    // A hostile id in the page's address: shown as the title, refused by the API as text.
    await page.goto(`${d.url}/#/jobs/${encodeURIComponent(hostile("id"))}`);
    await textIs(page, "#message", `"${hostile("id")}" is not a job id`);
    expect(await page.textContent("#job-title")).toBe(hostile("id"));
    expect(await injected(page)).toEqual([]);
    expect(await page.title()).toBe("Courier");

    // A right-to-left override or a character that shows nothing in a link's address: the
    // title reads as what it is, escaped as the CLI shows it, not reordered or hidden.
    await page.goto(`${d.url}/#/jobs/${encodeURIComponent("invoice\u202efdp.exe\u3164")}`);
    await textIs(page, "#job-title", "invoice\\u202efdp.exe\\u3164");
    await page.close();
  });
}, 30_000);

test("a link whose job id is no percent-encoding (%zz) still goes live; the id is refused as text", async () => {
  await withDashboard(testPrefix(), async (d) => {
    const page = await browser.context.newPage();
    await page.goto(`${d.url}/#/jobs/%zz`);
    await textIs(page, "#message", '"%zz" is not a job id');
    await textIs(page, "#live", "live");
    expect(await page.textContent("#job-title")).toBe("%zz");
    await page.close();
  });
}, 30_000);

test("the job page of a job not yet due says scheduled and when it runs", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("send", null, { delayMs: 3_600_000, id: "later-1" });
  const runAt = new Date((await q.getJob(id))!.runAt!).toISOString();
  await withDashboard(prefix, async (d) => {
    const page = await browser.context.newPage();
    await page.goto(`${d.url}/#/jobs/${id}`);
    await textIs(page, "#job-title", id);
    await page.waitForFunction(() => document.querySelectorAll("#job-fields dt").length > 0);
    expect(await field(page, "status")).toBe("scheduled");
    expect(await field(page, "runAt")).toBe(runAt);
    await page.close();
  });
}, 30_000);

test("with --token-reads the page asks for the token and shows the queue once given it", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueueMany([{ task: "later" }, { task: "later" }]);
  const token = "reads-test-token-0001";
  const proc = spawnCli("dashboard", ["--prefix", prefix, "--port", "0"], {
    env: { COURIER_DASHBOARD_TOKEN: token, COURIER_DASHBOARD_TOKEN_READS: "1" },
  });
  try {
    const line = await waitForLine(proc.stdout, /^dashboard on /);
    expect(line).toContain("actions on, with the token; reads need the token too");
    const page = await browser.context.newPage();
    await page.goto(line.split(" ")[2]!);
    await textIs(page, "#live", "token needed");
    expect(await page.isVisible("#token-needed")).toBe(true);
    expect(await page.textContent("#token-needed")).toBe(
      "reading this dashboard needs the dashboard's token: enter it under Actions, below.",
    );
    expect(await page.textContent("#count-waiting")).toBe("–");
    await page.fill("#token", token);
    await page.click("#token-form button");
    await textIs(page, "#count-waiting", "2");
    await textIs(page, "#live", "live");
    expect(await page.isHidden("#token-needed")).toBe(true);
    await page.close();
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}, 30_000);

test("the queue picker lists the queues under the prefix and switches to the one picked", async () => {
  const prefix = testPrefix();
  await using mail = await openQueue({ prefix, queue: "mail" });
  await mail.enqueueMany([{ task: "send" }, { task: "send" }, { task: "send" }]);
  await withDashboard(prefix, async (d) => {
    const page = await browser.context.newPage();
    await page.goto(d.url);
    await textIs(page, "#live", "live");
    await page.waitForSelector("#queue-picker option[value=mail]", { state: "attached" });
    expect(await page.$$eval("#queue-picker option", (o) => o.map((x) => x.textContent))).toEqual([
      "default",
      "mail",
    ]);
    expect(await page.inputValue("#queue-picker")).toBe("default");
    expect(await page.textContent("#count-waiting")).toBe("0");
    await page.selectOption("#queue-picker", "mail");
    await page.waitForURL(/\?queue=mail/);
    await textIs(page, "#count-waiting", "3");
    // The new page fills its picker when its list of queues arrives, which may be after the
    // counts: wait for that, then check the one picked is shown.
    await page.waitForSelector("#queue-picker option[value=mail]", { state: "attached" });
    expect(await page.inputValue("#queue-picker")).toBe("mail");
    await page.close();
  });
}, 30_000);
