// The dashboard page's script, served as /app.js with its modules (dom, chart, live, views):
// each transpiled from TypeScript when the server starts, no build step and no framework. Live
// numbers arrive as server-sent events, one snapshot a second. The queue shown is the page's
// `?queue=` (the dashboard's own without it), picked from the queues under the prefix.
import {
  $,
  act,
  api,
  el,
  failed,
  idPath,
  NO_PATH,
  pageQueue,
  type Row,
  say,
  shown,
  TOKEN_KEY,
} from "./dom.js";
import { wireJobs } from "./jobs.js";
import { follow } from "./live.js";
import { loadDead, refreshJob, render, type Snapshot, showJob, state } from "./views.js";

function route(): void {
  const m = /^#\/jobs\/(.+)$/.exec(location.hash);
  $("overview-view").hidden = Boolean(m);
  $("job-view").hidden = !m;
  if (m) void showJob(hashId(m[1]!));
}

/**
 * The id in a `#/jobs/ID` address, percent-decoded; as written when it is no percent-encoding
 * (`%zz`: anyone's link). decodeURIComponent threw on it, and the page's script stopped before
 * it connected: a page that said `connecting…` for ever. The API refuses such an id as text.
 */
function hashId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function connect(): void {
  const live = $("live");
  const badge = (text: string, kind: string) => {
    live.textContent = shown(text);
    live.className = `badge ${kind}`;
  };
  follow({
    event(name, data) {
      if (name === "failure") badge(`Redis unavailable: ${(data as Row).error}`, "down");
      if (name !== "snapshot") return;
      badge("live", "live");
      $("token-needed").hidden = true;
      // The snapshot's time on the badge: each update is visible, to tests as well.
      const { overview } = data as Snapshot;
      live.dataset.at = "time" in overview ? overview.time : new Date().toISOString();
      render(data as Snapshot);
      // A running job's page follows it (its progress, its end) at the snapshots' pace.
      if (!$("job-view").hidden) refreshJob();
    },
    down: (why) => badge(why, "down"),
    locked(error) {
      badge("token needed", "down");
      $("token-needed").hidden = false;
      $("token-needed-why").textContent = shown(error);
    },
    // The queue's data format changed (another Courier took it): the page stops, saying so.
    refused(error) {
      badge("stopped", "down");
      $("unreadable").hidden = false;
      $("unreadable").textContent = shown(error);
    },
  });
}

/** Fills the queue picker with the queues under the prefix, this page's selected. */
async function pickQueues(): Promise<void> {
  const list = await api("/api/queues").catch(() => null);
  if (!list) return;
  const current = pageQueue() ?? String(list.default);
  $("queue-picker").replaceChildren(
    ...(list.queues as string[]).map((name) => {
      const option = el("option", name) as HTMLOptionElement;
      option.value = name;
      option.selected = name === current;
      return option;
    }),
  );
}

function wire(): void {
  const token = $<HTMLInputElement>("token");
  const tokenState = () =>
    ($("token-state").textContent = sessionStorage.getItem(TOKEN_KEY) ? "token set" : "");
  tokenState();
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, token.value);
    token.value = "";
    tokenState();
    // A dashboard that asks a token for reads shows nothing until now: connect again with it.
    state.deadKey = "";
    connect();
    void pickQueues();
  });
  $("queue-picker").addEventListener("change", (e) => {
    location.search = `?queue=${encodeURIComponent((e.target as HTMLSelectElement).value)}`;
  });
  $("trigger-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const url = $<HTMLInputElement>("trigger-url");
    const done = await act("/api/trigger", { url: url.value });
    if (done) say(`Enqueued ${done.id} for ${done.url}`);
  });
  $("job-form").addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = `#/jobs/${encodeURIComponent($<HTMLInputElement>("job-id").value.trim())}`;
  });
  $("job-cancel").addEventListener("click", async () => {
    const id = $("job-title").textContent ?? "";
    const path = idPath("jobs", id, "cancel");
    const done = path ? await act(path) : failed(new Error(`job ${id}: ${NO_PATH}`));
    if (!done) return;
    say(done.verdict === "canceled" ? `Canceled ${id}` : `${id} had ended (${done.status})`);
    void showJob(id);
  });
  $("requeue-all").addEventListener("click", async () => {
    const done = await act("/api/dead/requeue-all");
    if (!done) return;
    // Letters whose job's key holds another type stay: requeued one by one, each says why.
    const left = done.unreadable
      ? `; ${done.unreadable} left, unreadable (requeue one to see why)`
      : "";
    say(`Requeued ${done.requeued} dead jobs${left}`);
  });
  for (const verb of ["pause", "resume"] as const) {
    $(verb).addEventListener("click", async () => {
      const done = await act(`/api/${verb}`);
      if (done) say(`Queue ${done.queue} ${verb === "pause" ? "paused" : "resumed"}`);
    });
  }
  $("empty").addEventListener("click", async () => {
    // Not undone: asked first, as `queue.ts empty` asks for --all.
    const what = "Remove every waiting, delayed and parked job of this queue? Running jobs finish.";
    if (!confirm(what)) return;
    const done = await act("/api/empty");
    if (done) say(`Removed ${done.removed} jobs from queue ${done.queue}`);
  });
  $("dead-older").addEventListener("click", () => {
    state.deadCursors.push($("dead-older").dataset.next || null);
    void loadDead(state.deadCursors.at(-1) ?? null);
  });
  $("dead-newest").addEventListener("click", () => {
    state.deadCursors = [];
    void loadDead(null);
  });
  addEventListener("hashchange", route);
  wireJobs();
}

wire();
route();
connect();
void pickQueues();
