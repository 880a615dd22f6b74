// The page's DOM and HTTP helpers. Values reach the page through textContent and attributes
// only, never as HTML: this is what keeps a hostile error message or URL inert. Text is shown
// through `shown` (safeText, line breaks kept): a right-to-left override or a character that
// shows nothing makes a name read as another, on a page as on a terminal.
import { safeText } from "./safe-text.js";

export type Row = Record<string, unknown>;

export const TOKEN_KEY = "courier-token";
export const $ = <T extends HTMLElement = HTMLElement>(id: string) =>
  document.getElementById(id) as T;

/** `value` as text to show: control, bidi and invisible characters escaped (lib/safe-text.ts). */
export const shown = (value: unknown): string => safeText(String(value), { multiline: true });

export function el(tag: string, text?: unknown, className?: string): HTMLElement {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = shown(text);
  if (className) node.className = className;
  return node;
}

/** Replaces a table's rows; a cell that is not a <td> yet (a link, buttons) is wrapped in one. */
export function fill(table: string, rows: Node[][], empty: string): void {
  const trs = rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      if (cell.nodeName === "TD") tr.append(cell);
      else tr.appendChild(el("td")).appendChild(cell);
    }
    return tr;
  });
  if (trs.length === 0) {
    const td = el("td", empty, "empty");
    td.setAttribute("colspan", String($(table).querySelectorAll("th").length));
    const tr = document.createElement("tr");
    tr.append(td);
    trs.push(tr);
  }
  $(table)
    .querySelector("tbody")
    ?.replaceChildren(...trs);
}

export const text = (v: unknown, className?: string): Node => el("td", v ?? "", className);
export const ago = (ms: number | null) => (ms === null ? "–" : `${Math.round(ms / 1000)}s`);
export const time = (at: unknown) =>
  at ? new Date(at as string | number).toLocaleTimeString() : "";
/** Date and time: a list of jobs spans days (a dead job of last week, one due next month). */
export const dateTime = (at: unknown) =>
  at ? new Date(at as string | number).toLocaleString() : "";

export function jobLink(id: unknown): Node {
  const a = el("a", id);
  a.setAttribute("href", `#/jobs/${encodeURIComponent(String(id))}`);
  return a;
}

/**
 * `/api/<what>/<name>[/<verb>]` with the name as one escaped segment, or null for `.` and `..`:
 * URL resolution removes those, escaped or not (`/api/schedules/../pause` is `/api/pause`, so
 * Pause on a schedule `..` paused the queue). Such a name is refused when made; one made
 * before, or by hand, gets no action here (the CLI still acts on it).
 */
export function idPath(what: string, name: string, verb?: string): string | null {
  if (name === "." || name === "..") return null;
  return `/api/${what}/${encodeURIComponent(name)}${verb ? `/${verb}` : ""}`;
}

/** Said in place of an action that idPath cannot address. */
export const NO_PATH = "unavailable here: . and .. cannot be in a URL (use the CLI)";

export function say(message: string, bad = false): void {
  const m = $("message");
  const text = shown(message);
  m.textContent = text;
  m.className = bad ? "bad" : "";
  setTimeout(() => {
    if (m.textContent === text) m.textContent = "";
  }, 6000);
}

/** The queue this page shows (`?queue=` in its address); null = the dashboard's own. */
export const pageQueue = () => new URLSearchParams(location.search).get("queue");

/** An API path for this page's queue. */
export function scoped(path: string): string {
  const queue = pageQueue();
  if (!queue) return path;
  return `${path}${path.includes("?") ? "&" : "?"}queue=${encodeURIComponent(queue)}`;
}

/** The token's header, when the operator gave one (reads may need it too). */
export function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { "x-courier-token": token } : {};
}

export async function api(path: string, init: RequestInit = {}): Promise<Row> {
  const headers = { ...authHeaders(), ...(init.headers as Record<string, string>) };
  const res = await fetch(scoped(path), { ...init, headers });
  const body = (await res.json().catch(() => ({}))) as Row;
  if (!res.ok) throw new Error(String(body.error ?? `${res.status} ${res.statusText}`));
  return body;
}

export function failed(err: Error): null {
  say(err.message, true);
  return null;
}

export function act(path: string, body?: unknown): Promise<Row | null> {
  const headers = { "content-type": "application/json" };
  return api(path, { method: "POST", headers, body: JSON.stringify(body ?? {}) }).catch(failed);
}
