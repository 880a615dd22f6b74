// The dashboard's queue controls in a real browser (bin/dashboard.ts, Debian's Chromium through
// playwright-core): Pause shows the paused badge (and `queue.ts jobs`' lists agree), Resume
// hides it; the jobs list shows each state a page at a time, following its cursor.
import { expect, test } from "bun:test";
import { launch, textIs } from "./fixtures/chromium.ts";
import { openQueue, runCli, spawnCli, testPrefix, waitForLine } from "./helpers.ts";

const TOKEN = "queue-browser-token";

test("pause and resume from the page; jobs by state, page by page", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const specs = Array.from({ length: 23 }, (_, i) => ({
    task: "wordcount",
    payload: { url: `http://127.0.0.1:9/${i}` },
  }));
  const ids = (await q.enqueueMany(specs)).map((j) => j.id);
  // Due at a whole minute a month ahead: the list shows its date, not only a time of day.
  const due = Math.ceil((Date.now() + 30 * 86_400_000) / 60_000) * 60_000;
  await q.enqueue("wordcount", { url: "http://127.0.0.1:9/later" }, { runAt: due });
  const proc = spawnCli("dashboard", ["--prefix", prefix, "--port", "0", "--token", TOKEN]);
  const url = (await waitForLine(proc.stdout, /^dashboard on http:\/\/127\.0\.0\.1:\d+ /)).split(
    " ",
  )[2]!;
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(url);
    await textIs(page, "#live", "live");
    expect(await page.isHidden("#paused")).toBe(true);

    await page.fill("#token", TOKEN);
    await page.click("#token-form button");
    await page.click("#pause");
    await page.waitForSelector("#paused:not([hidden])");
    const paused = await runCli("queue", ["pause", "default", "--prefix", prefix, "--json"]);
    expect(JSON.parse(paused.stdout)).toEqual({ queue: "default", paused: true, changed: false });
    await page.click("#resume");
    await page.waitForSelector("#paused[hidden]", { state: "attached" });

    // Waiting, newest first: 20 on the first page, the last 3 on the next.
    await page.waitForSelector("#jobs tbody tr:nth-child(20)");
    const firstPage = await page.locator("#jobs tbody td:first-child").allTextContents();
    await page.click("#jobs-older");
    await page.waitForFunction(
      () => document.querySelectorAll("#jobs tbody tr").length === 3,
      undefined,
      { timeout: 10_000 },
    );
    const secondPage = await page.locator("#jobs tbody td:first-child").allTextContents();
    expect([...firstPage, ...secondPage].sort()).toEqual([...ids].sort());
    expect(await page.isDisabled("#jobs-older")).toBe(true);

    await page.selectOption("#jobs-state", "delayed");
    await page.waitForFunction(
      () => document.querySelectorAll("#jobs tbody tr").length === 1,
      undefined,
      { timeout: 10_000 },
    );
    await textIs(page, "#jobs tbody td:nth-child(2)", "wordcount");
    const shown = await page.evaluate((at) => new Date(at).toLocaleString(), due);
    expect(shown).toContain(String(new Date(due).getUTCFullYear()));
    await textIs(page, "#jobs tbody td:nth-child(3)", shown);
    await page.selectOption("#jobs-state", "dead");
    await textIs(page, "#jobs tbody td", "no dead jobs");

    // Empty, once confirmed: the 23 waiting and the delayed one go (a dismissed dialog: none).
    page.once("dialog", (d) => void d.dismiss());
    await page.click("#empty");
    expect((await q.getJobs(ids.slice(0, 1)))[0]?.status).toBe("queued");
    page.once("dialog", (d) => void d.accept());
    await page.click("#empty");
    await textIs(page, "#message", "Removed 24 jobs from queue default");
    expect(await q.getJobs(ids)).toEqual(ids.map(() => null));
  } finally {
    await browser.close();
    proc.kill("SIGTERM");
    await proc.exited;
  }
}, 30_000);
