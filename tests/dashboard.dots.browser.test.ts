// A schedule named `..` (made before such names were refused, or by hand) in a real browser:
// its row shows Pause as unavailable rather than a button whose path (`/api/schedules/../pause`)
// the browser resolves to `/api/pause`, which paused the whole queue. Another schedule keeps
// its button. idPath, the one builder of the page's id paths, is checked by a table.
import { expect, test } from "bun:test";
import { idPath, NO_PATH } from "../lib/dashboard/client/dom.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { saveSchedule } from "../lib/engine/schedule.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { checkSpec } from "../lib/schedule/spec.ts";
import { launch, textIs } from "./fixtures/chromium.ts";
import { openQueue, redisUrl, testPrefix } from "./helpers.ts";

const TOKEN = "dots-browser-token-0190";

/** Saves a schedule under a name Schedules.add refuses now, as one made before could be. */
async function plantSchedule(client: Redis, prefix: string, name: string): Promise<void> {
  const def = { ...checkSpec({ name: "x", every: "1h", task: "t" }, "default"), created_at: 0 };
  const json = JSON.stringify(def);
  const next = Date.now() + 3_600_000;
  await saveSchedule(client, scheduleKeys(prefix), name, {
    op: "add",
    json,
    next,
    queue: "default",
  });
}

test.each([
  ["schedules", "..", "pause", null],
  ["schedules", ".", "pause", null],
  ["dead", "..", "requeue", null],
  ["jobs", ".", undefined, null],
  ["schedules", "...", "pause", "/api/schedules/.../pause"],
  ["schedules", "a..b", "resume", "/api/schedules/a..b/resume"],
  ["jobs", "a/b?c", undefined, "/api/jobs/a%2Fb%3Fc"],
  ["dead", ".a", "delete", "/api/dead/.a/delete"],
])("idPath(%p, %p, %p) is %p", (what, name, verb, path) => {
  expect(idPath(what, name, verb)).toBe(path);
});

test("a schedule named .. has no Pause button; its neighbour has one", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null); // the queue exists
  await plantSchedule(q.client, prefix, "..");
  await plantSchedule(q.client, prefix, "nightly");
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(d.url);
    await textIs(page, "#live", "live");
    await textIs(page, "#schedules-total", "2 schedules");
    const rows = page.locator("#schedules tbody tr");
    expect(await rows.locator("td:first-child").allTextContents()).toEqual(["..", "nightly"]);
    expect(await rows.nth(0).locator("button").count()).toBe(0);
    await textIs(page, "#schedules tbody tr:first-child td:last-child", NO_PATH);
    expect(await rows.nth(1).locator("button").textContent()).toBe("Pause");
  } finally {
    await browser.close();
    await d.stop();
  }
}, 60_000);
