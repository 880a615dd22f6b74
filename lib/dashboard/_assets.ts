// The page and its scripts, embedded as text (so `bun build --compile` carries them) and the
// scripts transpiled from TypeScript once, when the dashboard starts: no build step.
// TypeScript types a `.ts` import as the module, not as its text: hence the expect-errors.
// @ts-expect-error imported as text by Bun
import app from "./client/app.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import chart from "./client/chart.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import dom from "./client/dom.ts" with { type: "text" };
// @ts-expect-error imported as text by Bun
import views from "./client/views.ts" with { type: "text" };
import page from "./page.html" with { type: "text" };
import style from "./style.css" with { type: "text" };

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
  ]);
}
