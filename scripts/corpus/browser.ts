// Renders HTML in Debian's Chromium, headless, and reads `document.body.innerText`: the
// reference that the word-count task's text extraction is measured against. Pages are served
// from a loopback Bun.serve, and every other request (stylesheets, scripts, images, fonts) is
// blocked, so a page renders with what it carries inline and nothing from the network.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

// Keep Chromium quiet and offline: no GPU, no QUIC, no update checks, no sync, nothing fetched
// in the background that could stall a load or add text.
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Renderer {
  /** Chromium's version, e.g. "156.0.8078.108". */
  version: string;
  /** `document.body.innerText` of `body` served with `contentType` (no charset by default). */
  bodyText(body: string | Uint8Array, contentType?: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh profile and a loopback server for the pages. */
export async function openRenderer(): Promise<Renderer> {
  const pages = new Map<string, { body: BodyInit; type: string }>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const page = pages.get(new URL(request.url).pathname);
      if (page === undefined) return new Response("not here", { status: 404 });
      return new Response(page.body, { headers: { "content-type": page.type } });
    },
  });
  const profile = await mkdtemp(join(tmpdir(), "courier-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  const version = context.browser()?.version() ?? "unknown";
  // One tab for every page: opening a tab costs more than rendering a typical page.
  const tab = context.pages()[0] ?? (await context.newPage());
  let current = "";
  // Only the page itself may load: the reference is the page as shipped, not its assets.
  await tab.route("**/*", (route) =>
    route.request().url() === current ? route.continue() : route.abort(),
  );
  let serial = 0;
  return {
    version,
    async bodyText(body, contentType = "text/html") {
      serial += 1;
      const path = `/page-${serial}`;
      current = `http://127.0.0.1:${server.port}${path}`;
      // A copy: Response takes only a Uint8Array over a plain ArrayBuffer.
      pages.set(path, {
        body: typeof body === "string" ? body : new Uint8Array(body),
        type: contentType,
      });
      try {
        return await render(tab, current);
      } finally {
        pages.delete(path);
      }
    },
    async close() {
      await context.close();
      server.stop(true);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

async function render(tab: Page, url: string): Promise<string> {
  await tab.goto(url, { waitUntil: "load" });
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is measured
  return await tab.evaluate(() => document.body?.innerText ?? "");
}
