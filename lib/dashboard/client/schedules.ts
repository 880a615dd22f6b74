// The schedules panel: the queue's recurring schedules with their next runs (Redis' clock), and
// a Pause or Resume button each (actions, with the token: the server checks it).
import type { Snapshot } from "../api-reads.ts";
import { $, act, dateTime, el, fill, say, text } from "./dom.js";

export function renderSchedules(all: Snapshot["schedules"], actions: boolean): void {
  const { total, shown } = all;
  const more = total > shown.length ? ` (the first ${shown.length} by name shown)` : "";
  $("schedules-total").textContent =
    total === 0 ? "" : `${total} ${total === 1 ? "schedule" : "schedules"}${more}`;
  fill(
    "schedules",
    shown.map((s) => {
      const verb = s.paused ? "resume" : "pause";
      const b = el("button", s.paused ? "Resume" : "Pause", "action") as HTMLButtonElement;
      b.type = "button";
      b.disabled = !actions;
      b.dataset.schedule = s.name;
      b.addEventListener("click", async () => {
        const done = await act(`/api/schedules/${encodeURIComponent(s.name)}/${verb}`);
        if (done) say(`Schedule ${s.name} ${verb === "pause" ? "paused" : "resumed"}`);
      });
      const next = s.paused ? "–" : s.next ? dateTime(s.next) : "none";
      return [
        text(s.name),
        text(s.when),
        text(s.task),
        text(next),
        text(s.paused ? "paused" : "running"),
        b,
      ];
    }),
    "no schedules",
  );
}
