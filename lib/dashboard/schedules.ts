// The dashboard's schedules panel (README, "Recurring schedules"): the queue's schedule count
// and the first SCHEDULES_SHOWN with their next runs in each snapshot, and pause/resume actions (POST, with the token, as every
// action) like `schedule.ts pause|resume NAME`.
import { formatDuration } from "../admin/duration.ts";
import { readQueueSchedules, schedulesUnreadableLine } from "../admin/info-schedules.ts";
import type { Unreadable } from "../admin/unreadable-keys.ts";
import { Schedules } from "../schedule/schedules.ts";
import { type MissedPolicy, SCHEDULE_NAME, whenText } from "../schedule/spec.ts";
import { isoOrNull } from "../time.ts";
import { type Api, json, shownField } from "./api.ts";

function of(api: Api): Schedules {
  return new Schedules(api.admin.client, api.admin.options.prefix, api.admin.options.queue);
}

/** The snapshot's schedules: how many, and the first SCHEDULES_SHOWN as the panel lists them. */
export interface SchedulesPart {
  total: number;
  shown: {
    name: string;
    when: string;
    task: string;
    missed: MissedPolicy;
    paused: boolean;
    next: string | null;
  }[];
}

/**
 * The queue's schedules: how many, and the first SCHEDULES_SHOWN by name with when, task,
 * paused, next run (ISO, Redis' clock). Read from the queue's own index every second per open
 * page: a few bounded calls however many schedules there are.
 */
export async function schedules(api: Api): Promise<SchedulesPart | Unreadable> {
  const { client, options } = api.admin;
  // A schedules key of another type makes the part `{ unreadable }` naming it, as a queue key
  // does for the others (the page says it and shows the rest); it was sent as no schedules.
  const read = await readQueueSchedules(client, options.prefix, options.queue);
  if (read === null) {
    return { unreadable: await schedulesUnreadableLine(client, options.prefix, options.queue) };
  }
  const shown = read.shown.flatMap((s) =>
    s.def === null
      ? []
      : [
          {
            // Cut past any name Courier takes (shownField): pause and resume refuse such a name.
            name: shownField(s.name),
            when: whenText(s.def, formatDuration),
            task: shownField(s.def.task),
            missed: s.def.missed,
            paused: s.def.paused,
            next: isoOrNull(s.next),
          },
        ],
  );
  return { total: read.total, shown };
}

/** Pauses or resumes one of the queue's schedules: 404 for none of that name in this queue. */
export async function setSchedulePaused(api: Api, name: string, paused: boolean) {
  const s = of(api);
  const found = SCHEDULE_NAME.test(name) ? await s.get(name) : null;
  if (found?.def?.queue !== api.admin.options.queue) {
    return json({ error: `no schedule ${name.slice(0, 64)} in this queue` }, 404);
  }
  const changed = paused ? await s.pause(name) : await s.resume(name);
  return json({ name, paused, changed });
}
