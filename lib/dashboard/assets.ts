// The page and its scripts, embedded as text (so `bun build --compile` carries them) and the
// scripts transpiled from TypeScript once, when the dashboard starts: no build step.
// TypeScript types a `.ts` import as the module, not as its text: hence the expect-errors.
import { safeTextModule } from "../safe-text.ts";
// @ts-expect-error imported as text by Bun
import app from "./client/app.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import chart from "./client/chart.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import dom from "./client/dom.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import jobs from "./client/jobs.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import live from "./client/live.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import overview from "./client/overview.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import schedules from "./client/schedules.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import views from "./client/views.ts" with { type: "text" };
import page from "./page.html" with { type: "text" };
import style from "./style.css" with { type: "text" };

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f8a4c"/><path d="M3 5h10v7H3zM3 5l5 4 5-4" fill="none" stroke="#fff" stroke-width="1.4"/></svg>';

export interface Asset {
  body: string;
  type: string;
}

/** Path → asset. The modules import each other as `./dom.js` and so on, served side by side. */
export function loadAssets(): Map<string, Asset> {
  const transpiler = new Bun.Transpiler({ loader: "ts", target: "browser" });
  const js = (source: unknown): Asset => ({
    body: transpiler.transformSync(String(source)),
    type: "text/javascript; charset=utf-8",
  });
  return new Map([
    // bun-types types an .html import as a bundle; imported as text, it is the file's text.
    ["/", { body: page as unknown as string, type: "text/html; charset=utf-8" }],
    ["/style.css", { body: style, type: "text/css; charset=utf-8" }],
    ["/app.js", js(app)],
    ["/chart.js", js(chart)],
    ["/dom.js", js(dom)],
    ["/views.js", js(views)],
    ["/jobs.js", js(jobs)],
    ["/live.js", js(live)],
    ["/overview.js", js(overview)],
    ["/schedules.js", js(schedules)],
    // The one list of what is shown escaped, for the page too (client/safe-text.ts).
    ["/safe-text.js", { body: safeTextModule(), type: "text/javascript; charset=utf-8" }],
    // SVG at the path browsers ask for by default: an envelope, the queue's courier.
    ["/favicon.ico", { body: FAVICON, type: "image/svg+xml" }],
  ]);
}
