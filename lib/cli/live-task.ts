// Whether a live worker of the queue has a task, for trigger's note on stderr: a job (or a
// batch's callback) of a task no worker has waits unseen, and a --wait for it would not end.
import { taskLive } from "../admin/unserved.ts";
import type { Queue } from "../queue/queue.ts";
import { redisNowMs } from "../redis/clock.ts";
import { safeText } from "../safe-text.ts";
import { WORDCOUNT_SUMMARY_TASK, WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";

/**
 * Whether a live worker of the queue has `task` (the tasks hash's `alive_until:<task>`, which
 * workers keep ahead of Redis' clock). Every CLI worker has the built-in tasks.
 */
export async function liveWorkerHas(queue: Queue, task: string): Promise<boolean> {
  if (task === WORDCOUNT_TASK || task === WORDCOUNT_SUMMARY_TASK) return true;
  try {
    const field = `alive_until:${task}`;
    const until = await queue.client.sendCommand<string | null>(["HGET", queue.keys.tasks, field]);
    return taskLive(until, await redisNowMs(queue.client));
  } catch {
    return true; // a note, not a check: nothing is said when it cannot be known
  }
}

/** Says on stderr that no live worker has `task` now, when so; `what` names the job and flag. */
export async function noLiveWorkerNote(
  queue: Queue,
  task: string,
  what: { job: string; flag: string },
): Promise<void> {
  if (await liveWorkerHas(queue, task)) return;
  process.stderr.write(
    `trigger: no live worker has task "${safeText(task)}" now: ${what.job} waits for one (a mistyped ${what.flag}?)\n`,
  );
}
