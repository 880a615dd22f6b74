// The dashboard in a real browser: Redis (the preload's), a worker and the dashboard run as an
// operator runs them (bin/worker.ts, bin/dashboard.ts), and Debian's Chromium, driven headless
// through playwright-core, checks that the counts follow jobs being triggered and finished,
// that a dead job is requeued with the token and not without it, and that a hostile error
// message shows as text. The screenshot lands in .test-output/dashboard.png (and, with
// COURIER_UPDATE_SCREENSHOTS=1 or when missing, in docs/dashboard.png for the README).
import { expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { injected, launch, nextSnapshot, textIs } from "./fixtures/chromium.ts";
import { ROOT, servePages, spawnCli, testPrefix, waitForLine } from "./helpers.ts";

const TOKEN = "browser-test-token";
const HOSTILE = "text/<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>";
const HTML = { "content-type": "text/html; charset=utf-8" };

async function dashboard(prefix: string, ...more: string[]) {
  const proc = spawnCli("dashboard", ["--prefix", prefix, "--port", "0", ...more]);
  const line = await waitForLine(proc.stdout, /^dashboard on http:\/\/127\.0\.0\.1:\d+ /);
  return { proc, url: line.split(" ")[2]! };
}

test("the dashboard follows the queue, requeues only with the token, shows hostile text as text", async () => {
  const prefix = testPrefix();
  let hostileHits = 0;
  const site = servePages((req) => {
    const path = new URL(req.url).pathname;
    // The first fetch of /broken answers a content type the task refuses, named in the error.
    if (path === "/broken" && ++hostileHits === 1) {
      return new Response("x", { headers: { "content-type": HOSTILE } });
    }
    return new Response(`<html><body><p>${path} has four words</p></body></html>`, {
      headers: HTML,
    });
  });
  const base = `http://127.0.0.1:${site.port}`;
  const board = await dashboard(prefix, "--token", TOKEN);
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(board.url);
    await textIs(page, "#live", "live");
    expect(await page.isHidden("#actions-off")).toBe(true);

    // Triggered from the page, with the token: counted as waiting while no worker runs.
    await page.fill("#token", TOKEN);
    await page.click("#token-form button");
    for (const n of [1, 2, 3]) {
      await page.fill("#trigger-url", `${base}/page/${n}`);
      await page.click("#trigger-form button");
      await textIs(page, "#count-waiting", String(n));
    }
    await page.fill("#trigger-url", `${base}/broken`);
    await page.click("#trigger-form button");
    await textIs(page, "#count-waiting", "4");

    // A worker starts: the jobs finish, the broken one dies with the hostile error.
    const worker = spawnCli("worker", [
      "--prefix",
      prefix,
      "--allow-private",
      "--log-format",
      "json",
    ]);
    await textIs(page, "#count-waiting", "0");
    await textIs(page, "#count-finished-total", "3");
    await textIs(page, "#count-dead", "1");
    await textIs(
      page,
      "#dead tbody td.error",
      `unsupported content type ${HOSTILE} from ${base}/broken`,
    );
    await textIs(
      page,
      "#failures tbody td.error",
      `unsupported content type ${HOSTILE} from ${base}/broken`,
    );
    // The Outcome column: what the failure led to (here, the job failed for good).
    await textIs(page, "#failures tbody td:nth-child(5)", "failed");
    expect(await injected(page)).toEqual([]);
    await page.waitForSelector("#workers tbody td.state-idle, #workers tbody td.state-busy");

    const outDir = join(ROOT, ".test-output");
    mkdirSync(outDir, { recursive: true });
    const shot = join(outDir, "dashboard.png");
    await page.evaluate(() => document.getElementById("message")?.replaceChildren());
    await page.screenshot({ path: shot, fullPage: true });
    const docs = join(ROOT, "docs", "dashboard.png");
    if (process.env.COURIER_UPDATE_SCREENSHOTS === "1" || !existsSync(docs))
      copyFileSync(shot, docs);

    // Without the token the requeue is refused and the job stays dead.
    await page.evaluate(() => sessionStorage.removeItem("courier-token"));
    await page.click("#dead tbody button[data-verb=requeue]");
    await textIs(page, "#message", "this action needs the dashboard's token");
    await nextSnapshot(page); // a refresh later: still dead
    expect(await page.textContent("#count-dead")).toBe("1");

    // With it, the job runs again (the page is fixed by now) and finishes.
    await page.fill("#token", TOKEN);
    await page.click("#token-form button");
    await page.click("#dead tbody button[data-verb=requeue]");
    await textIs(page, "#count-dead", "0");
    await textIs(page, "#count-finished-total", "4");
    await textIs(page, "#dead tbody td", "no dead letters");

    // The job page: its attempts, the first with the hostile error as text.
    await page.click("#failures tbody a");
    await page.waitForSelector("#job-view:not([hidden])");
    await textIs(
      page,
      "#job-attempts tbody tr:first-child td.error",
      `unsupported content type ${HOSTILE} from ${base}/broken`,
    );
    expect(await page.locator("#job-attempts tbody tr").count()).toBe(2);
    expect(await page.textContent("#job-payload")).toContain(`${base}/broken`);
    expect(await injected(page)).toEqual([]);

    worker.kill("SIGTERM");
    expect(await worker.exited).toBe(0);

    // A dashboard started without a token says that actions are off.
    const readOnly = await dashboard(prefix);
    try {
      const other = await browser.context.newPage();
      await other.goto(readOnly.url);
      await textIs(other, "#live", "live");
      expect(await other.isVisible("#actions-off")).toBe(true);
      expect(await other.isDisabled("#requeue-all")).toBe(true);
    } finally {
      readOnly.proc.kill("SIGTERM");
      await readOnly.proc.exited;
    }
  } finally {
    await browser.close();
    board.proc.kill("SIGTERM");
    await board.proc.exited;
    site.stop(true);
  }
}, 30_000);
