// The dashboard page's script, served as /app.js with its modules (dom, chart, views): each
// transpiled from TypeScript when the server starts, no build step and no framework. Live
// numbers arrive as server-sent events, one snapshot a second.
import { $, act, say, TOKEN_KEY } from "./dom.js";
import { loadDead, render, type Snapshot, showJob, state } from "./views.js";

function route(): void {
  const m = /^#\/jobs\/(.+)$/.exec(location.hash);
  $("overview-view").hidden = Boolean(m);
  $("job-view").hidden = !m;
  if (m) void showJob(decodeURIComponent(m[1]!));
}

function connect(): void {
  const live = $("live");
  const events = new EventSource("/api/events");
  events.addEventListener("snapshot", (e) => {
    live.textContent = "live";
    live.className = "badge live";
    render(JSON.parse((e as MessageEvent).data) as Snapshot);
  });
  events.addEventListener("failure", (e) => {
    live.textContent = `Redis unavailable: ${JSON.parse((e as MessageEvent).data).error}`;
    live.className = "badge down";
  });
  events.onerror = () => {
    live.textContent = "reconnecting…";
    live.className = "badge down";
  };
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
  $("requeue-all").addEventListener("click", async () => {
    const done = await act("/api/dead/requeue-all");
    if (done) say(`Requeued ${done.requeued} dead jobs`);
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
}

wire();
route();
connect();
