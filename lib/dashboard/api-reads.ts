// The dashboard's reads under /api/ and /metrics, for one queue: the overview, workers, latest
// failures, limits and schedules (together, the snapshot sent every second), pages of dead
// letters and of jobs by state, one job. Every list is bounded. A bad query parameter is the
// caller's mistake (400), found before Redis is asked.

import { isDeadCursor } from "../admin/dead-pages.ts";
import { isJobState, JOB_STATES } from "../admin/jobs.ts";
import { limitSettings, nextSlotText, usesLimits } from "../admin/limits-view.ts";
import { letterJson } from "../cli/dead.ts";
import { jobJson } from "../cli/format.ts";
import { jobRowJson } from "../cli/queue.ts";
import { isValidJobId } from "../engine/record.ts";
import { CourierError } from "../errors.ts";
import { isoOrNull } from "../time.ts";
import type { JobStatus } from "../types.ts";
import { type Api, json, shownField } from "./api.ts";
import { dashboardDefaults } from "./options.ts";
import { schedules } from "./schedules.ts";

export async function overview(api: Api) {
  const { counts: read, shards, series, memory, paused } = await api.admin.overview();
  // A task name written by hand (Courier takes none over 100 characters) is cut: see shownField.
  const unservedTasks = read.unservedTasks.map((u) => ({ ...u, task: shownField(u.task) }));
  const counts = { ...read, unservedTasks };
  const time = new Date(api.admin.options.now()).toISOString();
  const { queue } = api.admin.options;
  return { queue, time, actions: api.actions, counts, shards, series, memory, paused };
}

/**
 * The workers, each record's free text cut (dashboardDefaults.shownFieldMaxChars, at most
 * shownTasksMax task names): a record can hold any string, and 1,000 workers with hosts of 20
 * KB made a snapshot of 20 MB every second. A name or host Courier writes is shown whole.
 */
export async function workers(api: Api) {
  const { shownTasksMax } = dashboardDefaults;
  const all = await api.admin.workers({ prune: true });
  return {
    workers: all.map((w) => ({
      ...w,
      name: shownField(w.name),
      host: w.host === null ? null : shownField(w.host),
      tasks: w.tasks.slice(0, shownTasksMax).map(shownField),
    })),
  };
}

export async function failures(api: Api) {
  const recent = await api.admin.recentFailures(20);
  return {
    // A job whose record is gone (deleted with its dead letter, or expired) has nothing to show.
    failures: recent
      .flatMap((f) => (f.job ? [{ ...f, job: f.job }] : []))
      .map(({ id, type, at, job }) => {
        // The failed attempt itself: the job may have run again since (and finished).
        const attempt = job.history.findLast((a) => a.error !== null);
        return {
          id,
          type,
          at: isoOrNull(at),
          task: job.task,
          status: job.status,
          outcome: failureOutcome(type, job.status),
          attempt: attempt?.attempt ?? job.attempts,
          error: attempt?.error ?? job.error ?? null,
          // When a job that will retry runs again, by Redis' clock (null otherwise).
          runAt: isoOrNull(job.runAt),
        };
      }),
  };
}

/**
 * What a listed failure led to, and what became of the job since: a failure list whose row says
 * only `finished` (a job retried or requeued since) reads as a list of the wrong jobs.
 */
export function failureOutcome(type: string, status: JobStatus): string {
  if (type === "failed") {
    if (status === "failed") return "failed";
    return status === "finished"
      ? "failed, then requeued and finished"
      : `failed, then requeued (${status})`;
  }
  // `retried`: the attempt failed and the job was to run again.
  if (status === "finished") return "failed, then retried and finished";
  if (status === "failed") return "failed, retried, then failed for good";
  return status === "retrying" ? "failed, will retry" : `failed, retried (${status})`;
}

/** What the page receives every second over server-sent events. */
export type Snapshot = Awaited<ReturnType<typeof snapshot>>;

export async function snapshot(api: Api) {
  // Each part on its own: one whose key holds another type is `{ unreadable }` naming the key
  // (the page says so in its place), and the others are still sent.
  const part = <T>(read: Promise<T>) => api.admin.settle(read);
  const [o, w, f, s, l] = await Promise.all([
    part(overview(api)),
    part(workers(api)),
    part(failures(api)),
    part(schedules(api)),
    part(limits(api)),
  ]);
  // `actions` on its own too: a page whose overview is unreadable still knows they are on.
  return { actions: api.actions, overview: o, workers: w, failures: f, schedules: s, limits: l };
}

/**
 * The rate limits (issue 14): the settings in a phrase, and the latest held keys with their
 * next slot (ISO time, and `in 12s` as info says it). `used` false: the page shows no panel.
 */
export async function limits(api: Api) {
  const v = await api.admin.limitsView();
  return {
    used: usesLimits(v),
    settings: limitSettings(v),
    rate: v.rate,
    keyConcurrency: v.keyConcurrency,
    keyRate: v.keyRate,
    heldTotal: v.heldTotal,
    held: v.held.map((h) => ({
      key: shownField(h.key), // a limit key Courier takes is at most 256 bytes: shown whole
      nextSlot: isoOrNull(h.nextMs),
      next: nextSlotText(h.nextMs - v.nowMs),
      running: h.running,
      retryAfter: h.retryAfter,
    })),
  };
}

/**
 * A page's `limit` (default 20), digits only as `dead list --limit` takes it: Number() read hex,
 * exponents, a sign and blanks too. NaN for anything else (the caller's 400).
 */
function pageLimit(url: URL): number {
  const given = url.searchParams.get("limit") || "20";
  return /^[1-9]\d{0,2}$/.test(given) ? Number(given) : Number.NaN;
}

export async function deadPage(api: Api, url: URL): Promise<Response> {
  const limit = pageLimit(url);
  const cursor = url.searchParams.get("cursor") || null;
  // Checked here, before Redis: a garbage id is the caller's mistake (400), not a server error.
  if (cursor !== null && !isDeadCursor(cursor)) {
    return json(
      {
        error:
          "cursor must be the `next` of a previous page (an entry id, and `:<shard>` on a queue of several shards)",
      },
      400,
    );
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    return json({ error: "limit must be a whole number from 1 to 500" }, 400);
  }
  const page = await api.admin.deadLetters({ cursor, limit });
  return json({ total: page.total, letters: page.letters.map(letterJson), next: page.next });
}

/**
 * `/api/jobs?state=S&limit=N&cursor=C&oldest=1`: a page of jobs in one state, as `queue.ts
 * jobs` lists them (lib/admin/jobs.ts). A bad state, limit or cursor is the caller's (400).
 */
export async function jobsPage(api: Api, url: URL): Promise<Response> {
  const state = url.searchParams.get("state") ?? "";
  const limit = pageLimit(url);
  const cursor = url.searchParams.get("cursor") || null;
  const oldest = url.searchParams.get("oldest") === "1";
  if (!isJobState(state))
    return json({ error: `state must be one of ${JOB_STATES.join(", ")}` }, 400);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    return json({ error: "limit must be a whole number from 1 to 500" }, 400);
  }
  try {
    const page = await api.admin.jobs({ state, limit, cursor, oldest });
    return json({ state, jobs: page.jobs.map(jobRowJson), next: page.next });
  } catch (err) {
    if (err instanceof CourierError && err.code === "EINPUT") {
      return json({ error: "cursor must be the `next` of a previous page of this list" }, 400);
    }
    throw err;
  }
}

export async function job(api: Api, id: string): Promise<Response> {
  if (!isValidJobId(id)) return json({ error: `"${id}" is not a job id` }, 400);
  const record = await api.admin.job(id);
  if (record) return json(jobJson(record));
  // Its failed value or record of another type reads as absent: said as `result` says it (409,
  // as the actions' refusals of such a job).
  const unreadable = await api.admin.unreadableJob(id);
  if (unreadable) return json({ error: unreadable }, 409);
  return json({ error: `no job ${id}: unknown id, or its record has expired` }, 404);
}

/** The queue's Prometheus text; no-store as every API answer (with --token-reads, the token's). */
export async function metrics(api: Api): Promise<Response> {
  return new Response(await api.admin.metrics(), {
    headers: {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}
