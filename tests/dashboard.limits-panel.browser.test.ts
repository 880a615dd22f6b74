// The dashboard's Rate limits panel in a real browser (Debian's Chromium through
// playwright-core): hidden for a queue without limits, and for a limited one with a held key,
// the settings, the key with its next slot and its running jobs.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { parseRate } from "../lib/engine/rates.ts";
import { launch, textIs } from "./fixtures/chromium.ts";
import { openQueue, redisUrl, testPrefix } from "./helpers.ts";

test("the limits panel shows held keys and their next slot, and only when there are limits", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "crawl" });
  await using plain = await openQueue({ prefix, queue: "plain" });
  await q.enqueue("t", null);
  await plain.enqueue("t", null);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "crawl" });
  try {
    await admin.setLimits({ keyConcurrency: 2, keyRate: parseRate("5/s") });
    await admin.holdKey("slow.example", 600_000);
  } finally {
    await admin.close();
  }
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, queue: "crawl", port: 0 });
  const url = d.url;
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(url);
    await textIs(page, "#live", "live");
    await page.waitForSelector("#limits-panel:not([hidden])");
    await textIs(page, "#limits-settings", "queue no limit   per key 2 running, 5/s");
    await textIs(page, "#limits-held-total", "1 held key");
    const cells = await page.locator("#limits-held tbody td").allTextContents();
    expect(cells[0]).toBe("slow.example");
    expect(cells[1]).toMatch(/^in 9m\d+s, at /);
    expect(cells[2]).toBe("0");

    await page.goto(`${url}?queue=plain`);
    await textIs(page, "#live", "live");
    expect(await page.isHidden("#limits-panel")).toBe(true);
  } finally {
    await browser.close();
    await d.stop();
  }
}, 60_000);
