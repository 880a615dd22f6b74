// The schedules panel: the queue's recurring schedules with their next runs (Redis' clock), and
// a Pause or Resume button each (actions, with the token: the server checks it).
import { $, act, dateTime, el, fill, idPath, NO_PATH, say, text } from "./dom.js";
import type { Part } from "./overview.js";

type Shown = Part<"schedules">["shown"][number];

export function renderSchedules(all: Part<"schedules">, actions: boolean): void {
  const { total, shown } = all;
  const more = total > shown.length ? ` (the first ${shown.length} by name shown)` : "";
  $("schedules-total").textContent =
    total === 0 ? "" : `${total} ${total === 1 ? "schedule" : "schedules"}${more}`;
  fill(
    "schedules",
    shown.map((s) => {
      const next = s.paused ? "–" : s.next ? dateTime(s.next) : "none";
      return [
        text(s.name),
        text(s.when),
        text(s.task),
        text(next),
        text(s.paused ? "paused" : "running"),
        pauseButton(s, actions),
      ];
    }),
    "no schedules",
  );
}

/** Pause or Resume; for a name no path can carry (`..`), a cell saying so instead. */
function pauseButton(s: Shown, actions: boolean): Node {
  const verb = s.paused ? "resume" : "pause";
  const path = idPath("schedules", s.name, verb);
  if (!path) return text(NO_PATH, "unavailable");
  const b = el("button", s.paused ? "Resume" : "Pause", "action") as HTMLButtonElement;
  b.type = "button";
  b.disabled = !actions;
  b.dataset.schedule = s.name;
  b.addEventListener("click", async () => {
    const done = await act(path);
    if (done) say(`Schedule ${s.name} ${verb === "pause" ? "paused" : "resumed"}`);
  });
  return b;
}
