// The job page's Cancel button in Chromium: shown for a job that has not ended, enabled once the
// dashboard says actions are on (a token), and a click cancels the job and shows it canceled.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { BrowserContext } from "playwright-core";
import { startDashboard } from "../lib/dashboard/server.ts";
import { launch, textIs } from "./fixtures/chromium.ts";
import { openQueue, redisUrl, testPrefix } from "./helpers.ts";

let browser: { context: BrowserContext; close: () => Promise<void> };
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser.close();
});

test("the job page's Cancel button cancels a queued job", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("anything", {});
  const token = "cancel-browser-token-0001";
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token });
  try {
    const page = await browser.context.newPage();
    await page.goto(d.url);
    await page.evaluate((t) => sessionStorage.setItem("courier-token", t), token);
    await page.goto(`${d.url}/#/jobs/${id}`);
    await page.reload();
    await textIs(page, "#job-fields dd", "queued");
    await page.click("#job-cancel");
    await textIs(page, "#message", `Canceled ${id}`);
    await textIs(page, "#job-fields dd", "canceled");
    expect(await page.isHidden("#job-cancel")).toBe(true);
    expect(await q.getJob(id)).toMatchObject({ status: "canceled" });
    await page.close();
  } finally {
    await d.stop();
  }
}, 30_000);
