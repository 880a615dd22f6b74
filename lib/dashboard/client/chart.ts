// The throughput chart: finished and failed jobs per minute over the last hour, drawn as SVG
// (element by element: labels are text nodes, never markup). Drawn at the element's own
// width, so bars stay sharp and labels keep their size.
import type { MinutePoint as Point } from "../../admin/window.ts";
import { time } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 130;
const BASE = 112; // the x axis; bars grow up from it to 12 at most

function shape(tag: string, attrs: Record<string, string | number>, label?: string): Element {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (label !== undefined) n.textContent = label;
  return n;
}

/** Finished (stacked under failed) jobs per minute, as bars with a tooltip each. */
export function drawChart(series: Point[]): void {
  const svg = document.getElementById("chart");
  if (!svg) return;
  const width = Math.max(300, svg.clientWidth);
  svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
  const max = Math.max(1, ...series.map((p) => p.finished + p.failed));
  const w = width / Math.max(series.length, 1);
  const scale = (BASE - 12) / max;
  const nodes: Element[] = [shape("line", { x1: 0, x2: width, y1: BASE, y2: BASE })];
  series.forEach((p, i) => {
    const [ok, bad] = [p.finished * scale, p.failed * scale];
    const bar = shape("g", {});
    bar.append(
      shape("title", {}, `${time(p.at)}: ${p.finished} finished, ${p.failed} failed`),
      shape("rect", { class: "finished", x: i * w + 1, y: BASE - ok, width: w - 2, height: ok }),
      shape("rect", {
        class: "failed",
        x: i * w + 1,
        y: BASE - ok - bad,
        width: w - 2,
        height: bad,
      }),
    );
    nodes.push(bar);
  });
  nodes.push(
    shape("text", { class: "axis", x: 2, y: 10 }, `${max} per minute`),
    shape("text", { class: "axis", x: 2, y: HEIGHT - 3 }, "an hour ago"),
    shape("text", { class: "axis", x: width - 2, y: HEIGHT - 3, "text-anchor": "end" }, "now"),
  );
  svg.replaceChildren(...nodes);
}
