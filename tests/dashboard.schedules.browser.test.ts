// The dashboard's schedules panel in a real browser (Debian's Chromium through playwright-core):
// the queue's schedules with their next runs, Pause and Resume through the API with the token
// (`schedule.ts list` agrees); the API refuses a schedule of another queue (404).
import { expect, test } from "bun:test";
import { startDashboard } from "../lib/dashboard/server.ts";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { launch, textIs } from "./fixtures/chromium.ts";
import { firstSnapshot } from "./fixtures/dashboard.ts";
import { openQueue, redisUrl, runCli, spawnCli, testPrefix, waitForLine } from "./helpers.ts";

const TOKEN = "schedules-browser-token";

test("the schedules panel: next runs, pause and resume from the page", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("wordcount", { url: "http://127.0.0.1:9/" }); // the queue exists
  const schedules = new Schedules(q.client, prefix);
  const added = await schedules.add({
    name: "nightly",
    cron: "0 3 * * *",
    tz: "Europe/Paris",
    task: "report",
  });
  await schedules.add({ name: "elsewhere", every: "1h", task: "t", queue: "other" });
  const proc = spawnCli("dashboard", ["--prefix", prefix, "--port", "0", "--token", TOKEN]);
  const line = await waitForLine(proc.stdout, /^dashboard on http:\/\/127\.0\.0\.1:\d+ /);
  const url = line.split(" ")[2]!;
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(url);
    await textIs(page, "#live", "live");
    await page.waitForSelector("#schedules tbody tr td:first-child");
    // This queue's schedule only, its next run shown as a date and time.
    expect(await page.locator("#schedules tbody td:first-child").allTextContents()).toEqual([
      "nightly",
    ]);
    await textIs(page, "#schedules tbody td:nth-child(2)", "cron 0 3 * * * (Europe/Paris)");
    await textIs(page, "#schedules-total", "1 schedule");
    expect(await page.locator("#schedules tbody td:nth-child(4)").textContent()).toBe(
      await page.evaluate((at) => new Date(at).toLocaleString(), added.next!),
    );

    await page.fill("#token", TOKEN);
    await page.click("#token-form button");
    await page.waitForSelector("#schedules button:not([disabled])");
    await page.click("#schedules button");
    await textIs(page, "#schedules tbody td:nth-child(5)", "paused");
    const listed = await runCli("schedule", ["list", "--prefix", prefix, "--json"]);
    const nightly = JSON.parse(listed.stdout).schedules.find(
      (s: { name: string }) => s.name === "nightly",
    );
    expect(nightly).toMatchObject({ paused: true, next: null });
    await page.click("#schedules button");
    await textIs(page, "#schedules tbody td:nth-child(5)", "running");
    expect((await schedules.get("nightly"))?.def?.paused).toBe(false);

    // A schedule of another queue is not this queue's to pause.
    const res = await fetch(`${url}/api/schedules/elsewhere/pause`, {
      method: "POST",
      headers: { "x-courier-token": TOKEN, "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(404);
    expect((await schedules.get("elsewhere"))?.def?.paused).toBe(false);
  } finally {
    await browser.close();
    proc.kill("SIGTERM");
    await proc.exited;
  }
}, 60_000);

test("a schedules key of another type: the part unreadable, naming it; the snapshot still comes", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  await q.client.sendCommand(["SET", scheduleKeys(prefix).defs, "not a hash"]);
  await q.client.sendCommand(["SET", scheduleKeys(prefix).names("default"), "not a zset"]);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  try {
    const { data } = await firstSnapshot(`${d.url}/api/events`);
    // Said, as any part whose key holds another type (it was sent as no schedules at all).
    expect(data.schedules.unreadable).toStartWith(
      `queue default cannot be read: key ${scheduleKeys(prefix).names("default")} holds a string where Courier keeps a zset`,
    );
    expect(data.overview.counts.waiting).toBe(1);
  } finally {
    await d.stop();
  }
});
