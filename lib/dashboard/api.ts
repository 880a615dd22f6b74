// The JSON API under /api/ (the page uses nothing else) and /metrics, for one queue (the
// server picks it from `?queue=`). Reads are open unless the dashboard asks a token for them; actions
// (POST) need the token. Every list is bounded: pages of dead letters, the latest failures,
// the last hour's minutes, so a queue of 100,000 jobs costs what an empty one does.

import type { Admin } from "../admin/admin.ts";
import { isDeadCursor } from "../admin/dead-pages.ts";
import { isJobState, JOB_STATES } from "../admin/jobs.ts";
import { limitSettings, nextSlotText, usesLimits } from "../admin/limits-view.ts";
import { letterJson } from "../cli/dead.ts";
import { jobJson } from "../cli/format.ts";
import { jobRowJson } from "../cli/queue.ts";
import { safeJson } from "../cli/safe-text.ts";
import { isValidJobId } from "../engine/record.ts";
import { CourierError, isOomError } from "../errors.ts";
import type { Queue } from "../queue/queue.ts";
import { describeCause } from "../redis/cause.ts";
import { WORDCOUNT_TASK } from "../tasks/wordcount/index.ts";
import { normaliseUrl } from "../tasks/wordcount/url.ts";
import { isoOrNull } from "../time.ts";
import type { JobStatus } from "../types.ts";
import { schedules } from "./schedules.ts";

export interface Api {
  /** The queue this request is about. */
  admin: Admin;
  /** A producer for that queue (trigger), connected on first use. */
  producer: () => Promise<Queue>;
  /** Actions are on only when there is a token. */
  actions: boolean;
}

export function json(body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

/**
 * What a page or an API client is told of a failure, and the status: a full Redis (507: the
 * action wrote nothing and works once there is room), Redis away (503); anything else is a 500
 * that only points to the log, where the details go (never Redis' own message to the client).
 */
export function publicFailure(err: unknown): { status: number; error: string } {
  if (isOomError(err)) {
    const error =
      "Redis is out of memory (maxmemory reached): it refused this and wrote nothing; free memory (purge dead letters) or raise maxmemory, then try again";
    return { status: 507, error };
  }
  const name = (err as Error)?.constructor?.name ?? "";
  if (/Client|Socket|Connect|Reconnect|Redis|Offline|Closed/.test(name)) {
    return { status: 503, error: `Redis unavailable: ${describeCause(err)}` };
  }
  // JSON-quoted, escaped: a control character in the message does not reach the terminal raw.
  process.stderr.write(`dashboard: internal error: ${safeJson(describeCause(err))}\n`);
  return { status: 500, error: "internal error: the dashboard's log has the details" };
}

export async function overview(api: Api) {
  const { counts, shards, series, memory, paused } = await api.admin.overview();
  const time = new Date(api.admin.options.now()).toISOString();
  const { queue } = api.admin.options;
  return { queue, time, actions: api.actions, counts, shards, series, memory, paused };
}

export async function workers(api: Api) {
  return { workers: await api.admin.workers({ prune: true }) };
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
  const [o, w, f, s, l] = await Promise.all([
    overview(api),
    workers(api),
    failures(api),
    schedules(api),
    limits(api),
  ]);
  return { overview: o, workers: w, failures: f, schedules: s, limits: l };
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
      key: h.key,
      nextSlot: isoOrNull(h.nextMs),
      next: nextSlotText(h.nextMs - v.nowMs),
      running: h.running,
      retryAfter: h.retryAfter,
    })),
  };
}

export async function deadPage(api: Api, url: URL): Promise<Response> {
  const limit = Number(url.searchParams.get("limit") || 20);
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
  const limit = Number(url.searchParams.get("limit") || 20);
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

/** Pauses (`paused` true) or resumes the queue, as `queue.ts pause|resume` does. */
export async function setPaused(api: Api, paused: boolean): Promise<Response> {
  const changed = paused ? await api.admin.pause() : await api.admin.resume();
  return json({ queue: api.admin.options.queue, paused, changed });
}

/** Removes the queue's waiting, delayed and parked jobs (running ones finish): `queue.ts empty --all`. */
export async function empty(api: Api): Promise<Response> {
  const e = await api.admin.empty();
  return json({ queue: api.admin.options.queue, removed: e.waiting + e.delayed + e.parked, ...e });
}

export async function job(api: Api, id: string): Promise<Response> {
  if (!isValidJobId(id)) return json({ error: `"${id}" is not a job id` }, 400);
  const record = await api.admin.job(id);
  if (!record) return json({ error: `no job ${id}: unknown id, or its record has expired` }, 404);
  return json(jobJson(record));
}

export async function requeue(api: Api, id: string): Promise<Response> {
  const [done] = await api.admin.requeue([id]);
  if (done?.verdict === "requeued") return json(done);
  if (done?.verdict === "active") {
    return json({ error: `job ${id} is queued or running again, not dead` }, 409);
  }
  return json({ error: `no dead letter for job ${id}` }, 404);
}

export async function remove(api: Api, id: string): Promise<Response> {
  const [deleted] = await api.admin.deleteDead([id]);
  if (deleted) return json({ id, deleted: true });
  return json({ error: `no dead letter for job ${id}` }, 404);
}

/**
 * Cancels a job (Admin.cancel): 200 when canceled or ended already (a second cancel is a
 * no-op), 404 for an unknown id, 409 when its keys hold what Courier did not write.
 */
export async function cancel(api: Api, id: string): Promise<Response> {
  if (!isValidJobId(id)) return json({ error: `"${id}" is not a job id` }, 400);
  const [done] = await api.admin.cancel([id]);
  if (done?.verdict === "canceled" || done?.verdict === "ended") return json(done);
  if (done?.verdict === "corrupt") {
    return json({ error: `job ${id}: a key holds a ${done.type}, not what Courier writes` }, 409);
  }
  return json({ error: `no job ${id}: unknown id, or its record has expired` }, 404);
}

export async function requeueAll(api: Api): Promise<Response> {
  return json({ requeued: await api.admin.requeueAll() });
}

/** Enqueues a word-count job; a URL `trigger` would refuse is refused here too (400). */
export async function trigger(api: Api, text: string): Promise<Response> {
  const body = parseJson(text) as { url?: unknown } | null;
  if (typeof body?.url !== "string") return json({ error: 'send JSON { "url": "…" }' }, 400);
  let url: string;
  try {
    url = normaliseUrl(body.url);
  } catch (err) {
    if (err instanceof CourierError) return json({ error: err.message }, 400);
    throw err;
  }
  const id = await (await api.producer()).enqueue(WORDCOUNT_TASK, { url });
  return json({ id, url }, 201);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function metrics(api: Api): Promise<Response> {
  return new Response(await api.admin.metrics(), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });
}
