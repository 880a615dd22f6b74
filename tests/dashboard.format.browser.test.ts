// A page open on a queue whose data format changes under it (another Courier took the queue):
// the live stream ends with the refusal the actions give, and the page stops there, saying it,
// rather than reconnecting every second to the same 409.
import { expect, test } from "bun:test";
import { FORMAT_RECHECK_MS } from "../lib/dashboard/queues.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { launch, textIs } from "./fixtures/chromium.ts";
import { oneShardFile, openQueue, redisUrl, testPrefix } from "./helpers.ts";

oneShardFile(); // the meta key written is a one-shard queue's

const REFUSAL =
  'queue "default" has data format 999, this Courier reads format 2: upgrade Courier (or use another --queue/--prefix)';

test("the queue's format changes under an open page: it stops with the refusal", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  let now = 1_000_000;
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, now: () => now });
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    let connects = 0;
    page.on("request", (r) => void (new URL(r.url()).pathname === "/api/events" && connects++));
    await page.goto(d.url);
    await textIs(page, "#live", "live");
    await q.client.sendCommand(["HSET", queueKeys(prefix, "default").meta, "format", "999"]);
    now += FORMAT_RECHECK_MS;
    await textIs(page, "#live", "stopped");
    expect(await page.textContent("#unreadable")).toBe(REFUSAL);
    expect(await page.isVisible("#unreadable")).toBe(true);
    // Stopped by the stream's last event: not by a reconnect that met the 409.
    expect(connects).toBe(1);
    expect(d.liveListeners).toBe(0);
  } finally {
    await browser.close();
    await d.stop();
  }
}, 60_000);

test("a page opened on a queue of another format says the refusal and does not retry", async () => {
  const prefix = testPrefix();
  // Another queue of the prefix: the dashboard refuses to start on its own one of another format.
  await using q = await openQueue({ prefix, queue: "other" });
  await q.enqueue("t", null);
  await q.client.sendCommand(["HSET", queueKeys(prefix, "other").meta, "format", "999"]);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${d.url}/?queue=other`);
    await textIs(page, "#live", "stopped");
    expect(await page.textContent("#unreadable")).toBe(REFUSAL.replace('"default"', '"other"'));
  } finally {
    await browser.close();
    await d.stop();
  }
}, 60_000);
