// What the page shows: each snapshot's parts (drawn by overview.ts, schedules.ts and the limits
// panel here), the dead letters (one page at a time, with their actions) and a job.
// Types only (erased when transpiled): the page reads exactly what the server sends.
import type { Snapshot } from "../api-reads.ts";
import {
  $,
  act,
  api,
  el,
  failed,
  fill,
  idPath,
  jobLink,
  NO_PATH,
  type Row,
  say,
  shown,
  text,
  time,
} from "./dom.js";
import { type Part, renderFailures, renderOverview, renderWorkers } from "./overview.js";
import { renderSchedules } from "./schedules.js";

export type { Snapshot };

export const state = { actions: false, deadCursors: [] as (string | null)[], deadKey: "" };

/** A part of the snapshot that could be read (one whose key holds another type is not). */
const readable = <T extends object>(part: T | { unreadable: string }): part is T =>
  !("unreadable" in part);

export function render(s: Snapshot): void {
  // A part whose key holds another type is named in one line; the rest are shown as usual.
  const { actions, ...parts } = s;
  const why = Object.values(parts).flatMap((p) => (readable(p) ? [] : [p.unreadable]));
  $("unreadable").hidden = why.length === 0;
  $("unreadable").textContent = shown([...new Set(why)].join(" · "));
  // From the snapshot itself, not its overview: an unreadable overview left them off for good.
  state.actions = actions;
  if (readable(s.overview)) renderOverview(s.overview);
  $("actions-off").hidden = state.actions;
  for (const b of document.querySelectorAll<HTMLButtonElement>(".action"))
    b.disabled = !state.actions;
  if (readable(s.schedules)) renderSchedules(s.schedules, state.actions);
  if (readable(s.limits)) renderLimits(s.limits);
  if (readable(s.workers)) renderWorkers(s.workers);
  if (readable(s.failures)) renderFailures(s.failures);
  if (!readable(s.overview)) return;
  const c = s.overview.counts;
  const deadKey = `${c.dead}:${c.totals.requeued ?? 0}:${c.totals.dead ?? 0}`;
  if (deadKey !== state.deadKey) {
    state.deadKey = deadKey;
    void loadDead(state.deadCursors.at(-1) ?? null);
  }
}

/** The limits panel, shown once the queue has a limit or a held key: held keys, next slot. */
function renderLimits(l: Part<"limits">): void {
  $("limits-panel").hidden = !l.used;
  if (!l.used) return;
  $("limits-settings").textContent = shown(l.settings);
  const more = l.heldTotal > l.held.length ? ` (the ${l.held.length} latest shown)` : "";
  $("limits-held-total").textContent =
    `${l.heldTotal} held ${l.heldTotal === 1 ? "key" : "keys"}${more}`;
  fill(
    "limits-held",
    l.held.map((h) => [
      text(h.key),
      text(`${h.next}, at ${time(h.nextSlot)}`),
      text(h.running ?? "unreadable"),
    ]),
    "no key held",
  );
}

export async function loadDead(cursor: string | null): Promise<void> {
  const page = await api(
    `/api/dead?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
  ).catch(failed);
  if (!page) return;
  const letters = page.letters as Row[];
  $("dead-total").textContent = `${page.total} kept`;
  fill(
    "dead",
    letters.map((l) => [
      text(time(l.deadAt)),
      jobLink(l.id),
      text(l.task),
      text(l.attempts ?? "-"),
      text(l.error, "error"),
      letterActions(String(l.id)),
    ]),
    "no dead letters",
  );
  ($("dead-older") as HTMLButtonElement).disabled = !page.next;
  ($("dead-older") as HTMLButtonElement).dataset.next = String(page.next ?? "");
}

/** A dead letter's Requeue and Delete; for an id no path can carry (`..`), a cell saying so. */
function letterActions(id: string): Node {
  if (!idPath("dead", id)) return text(NO_PATH, "unavailable");
  const buttons = el("td");
  for (const [label, verb] of [
    ["Requeue", "requeue"],
    ["Delete", "delete"],
  ] as const) {
    const b = el("button", label, "action") as HTMLButtonElement;
    b.type = "button";
    b.disabled = !state.actions;
    b.dataset.verb = verb;
    b.addEventListener("click", async () => {
      const done = await act(idPath("dead", id, verb)!);
      if (done) say(`${verb === "requeue" ? "Requeued" : "Deleted"} ${id}`);
    });
    buttons.append(b, " ");
  }
  return buttons;
}

/** A running job's progress (`ctx.progress`): `42%`, or an object's JSON; none once it ended. */
function progressText(value: unknown): string | undefined {
  if (typeof value === "number") return `${Math.round(value * 10) / 10}%`;
  return value === null || value === undefined ? undefined : JSON.stringify(value);
}

/** The job the page shows while it has not ended (its progress and status are kept fresh). */
let openJob: string | null = null;
/** The job last asked for: a slower answer about another one is not shown over it. */
let shownJob = "";

/** Reads the open job again (on each live snapshot) while it has not ended. */
export function refreshJob(): void {
  if (openJob !== null) void showJob(openJob);
}

export async function showJob(id: string): Promise<void> {
  $("job-title").textContent = shown(id); // from the address: anyone's link
  shownJob = id;
  const path = idPath("jobs", id);
  const job = path ? await api(path).catch(failed) : failed(new Error(`job ${id}: ${NO_PATH}`));
  if (shownJob !== id) return;
  const ended = ["finished", "failed", "canceled"].includes(String(job?.status));
  openJob = job && !ended ? id : null;
  const fields = [
    "status",
    "note",
    "task",
    "attempts",
    "maxAttempts",
    "worker",
    "progress",
    "enqueuedAt",
    "runAt",
    "startedAt",
    "endedAt",
    "error",
  ];
  const value = (f: string) => (f === "progress" ? progressText(job?.progress) : job?.[f]);
  $("job-fields").replaceChildren(
    ...(job ? fields.flatMap((f) => [el("dt", f), el("dd", value(f) ?? "–")]) : []),
  );
  // Cancel only a job that has not ended (the server answers an ended one as a no-op anyway).
  const cancel = $<HTMLButtonElement>("job-cancel");
  cancel.hidden = !job || ["finished", "failed", "canceled"].includes(String(job.status));
  cancel.disabled = !state.actions;
  $("job-payload").textContent = job ? shown(JSON.stringify(job.payload, null, 2)) : "";
  $("job-result").textContent = job ? shown(JSON.stringify(job.result, null, 2)) : "";
  const history = (job?.history ?? []) as Row[];
  fill(
    "job-attempts",
    history.map((a) =>
      [a.attempt, a.worker, time(a.startedAt), time(a.endedAt), a.outcome, a.error].map((v, i) =>
        text(v, i === 5 ? "error" : undefined),
      ),
    ),
    "no attempts yet",
  );
}
