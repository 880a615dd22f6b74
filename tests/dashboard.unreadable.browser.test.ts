// The page with one key of another type (the counters hash a string) in a real browser: the
// line naming the key shows above the counts, and the parts that could be read (workers, the
// latest failures) are drawn as usual; the counts keep their placeholder.
import { expect, test } from "bun:test";
import { startDashboard } from "../lib/dashboard/server.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { launch, textIs } from "./fixtures/chromium.ts";
import { oneShardFile, openQueue, redisUrl, testPrefix } from "./helpers.ts";

oneShardFile(); // the key corrupted is a one-shard queue's

test("a counters key of another type: the page names it and shows the rest", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  const stats = queueKeys(prefix, "default").stats;
  await q.client.sendCommand(["DEL", stats]);
  await q.client.sendCommand(["SET", stats, "not Courier's"]);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(d.url);
    await textIs(page, "#live", "live");
    await page.waitForSelector("#unreadable:not([hidden])");
    expect(await page.textContent("#unreadable")).toStartWith(
      `queue default cannot be read: key ${stats} holds a string where Courier keeps a hash;`,
    );
    await textIs(page, "#workers tbody td", "no workers");
    await textIs(page, "#failures tbody td", "no failures");
    expect(await page.textContent("#count-waiting")).toBe("–");
  } finally {
    await browser.close();
    await d.stop();
  }
}, 60_000);

test("a counters key of another type from the first snapshot: the actions are on all the same", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  const stats = queueKeys(prefix, "default").stats;
  await q.client.sendCommand(["DEL", stats]);
  await q.client.sendCommand(["SET", stats, "not Courier's"]);
  const token = "unreadable-browser-token-01";
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token });
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(d.url);
    await textIs(page, "#live", "live");
    await page.waitForSelector("#unreadable:not([hidden])");
    // The overview (where `actions` was read from) is unreadable; the actions are not off.
    expect(await page.isEnabled("#pause")).toBe(true);
    expect(await page.isEnabled("#requeue-all")).toBe(true);
    expect(await page.isHidden("#actions-off")).toBe(true);
  } finally {
    await browser.close();
    await d.stop();
  }
}, 60_000);
