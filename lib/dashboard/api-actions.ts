// The dashboard's actions (POST, only with the token): pause or resume the queue, empty it,
// requeue, delete or cancel a job, requeue every dead job, and trigger a word-count job. Each
// answers as the matching CLI command would: 404 for an id with nothing to act on, 409 when
// the job is not in the state the action needs (or Redis refuses its keys: another type).

import { isValidJobId } from "../engine/record.ts";
import { CourierError } from "../errors.ts";
import { WORDCOUNT_TASK } from "../tasks/wordcount/index.ts";
import { normaliseUrl } from "../tasks/wordcount/url.ts";
import { type Api, json, publicFailure } from "./api.ts";

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

export async function requeue(api: Api, id: string): Promise<Response> {
  const [done] = await api.admin.requeue([id]);
  if (done?.verdict === "failed") throw done.error; // one id: thrown before, kept here for types
  if (done?.verdict === "requeued") return json(done);
  if (done?.verdict === "active") {
    return json({ error: `job ${id} is queued or running again, not dead` }, 409);
  }
  if (done?.verdict === "unreadable") return json({ error: `job ${id}: ${done.reason}` }, 409);
  return json({ error: `no dead letter for job ${id}` }, 404);
}

export async function remove(api: Api, id: string): Promise<Response> {
  const [done] = await api.admin.deleteDeadEach([id]);
  if (done?.verdict === "failed") throw done.error; // one id: thrown before, kept here for types
  if (done?.verdict === "deleted") return json({ id, deleted: true });
  if (done?.verdict === "unreadable") return json({ error: `job ${id}: ${done.reason}` }, 409);
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

/** Requeues every dead job; `unreadable`: the letters left, their job's key of another type. */
export async function requeueAll(api: Api): Promise<Response> {
  const { requeued, unreadable, error } = await api.admin.requeueAllTally();
  const counts = { requeued, ...(unreadable > 0 ? { unreadable } : {}) };
  if (error === undefined) return json(counts);
  // A call failed after others were done: how many were, with the failure's status and words
  // (the page shows `error` alone, so it says the count too).
  const failure = publicFailure(error);
  const done = `Requeued ${requeued} dead job${requeued === 1 ? "" : "s"}; the others were not`;
  return json({ ...counts, error: `${done}: ${failure.error}` }, failure.status);
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
