// Whether a live worker of the queue has a task, for the note `trigger` and `result --wait` write
// on stderr: a job (or a batch's callback) of a task no worker has waits unseen, and a wait for it
// would not end until a worker that has it starts.
import { taskLive } from "../admin/unserved.ts";
import type { Queue } from "../queue/queue.ts";
import { redisNowMs } from "../redis/clock.ts";
import { safeText } from "../safe-text.ts";
import { WORDCOUNT_SUMMARY_TASK, WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";

/** The built-in tasks, which every CLI worker has: a name no one could have mistyped. */
function builtIn(task: string): boolean {
  return task === WORDCOUNT_TASK || task === WORDCOUNT_SUMMARY_TASK;
}

/**
 * Whether a live worker of the queue has `task` (the tasks hash's `alive_until:<task>`, which
 * workers keep ahead of Redis' clock).
 */
export async function liveWorkerHas(queue: Queue, task: string): Promise<boolean> {
  try {
    const field = `alive_until:${task}`;
    const until = await queue.client.sendCommand<string | null>(["HGET", queue.keys.tasks, field]);
    return taskLive(until, await redisNowMs(queue.client));
  } catch {
    return true; // a note, not a check: nothing is said when it cannot be known
  }
}

/**
 * Says on stderr that no live worker has `task` now, when so. `what.waits` says what waits;
 * `what.flag` the option that named the task, for the hint that it may be mistyped. `waiting`:
 * the command waits for it, so a built-in task no worker has is said too (no worker runs: the
 * wait ends only once one starts); without it a built-in task is not looked up.
 */
export async function noLiveWorkerNote(
  queue: Queue,
  task: string,
  what: { command: string; waits: string; flag?: string; waiting?: boolean },
): Promise<void> {
  if (builtIn(task) && !what.waiting) return;
  if (await liveWorkerHas(queue, task)) return;
  const hint =
    what.flag !== undefined && !builtIn(task)
      ? `a mistyped ${what.flag}?`
      : `start one: worker${queue.options.queue === "default" ? "" : ` --queue ${safeText(queue.options.queue)}`}`;
  process.stderr.write(
    `${what.command}: no live worker has task "${safeText(task)}" now: ${what.waits} for one (${hint})\n`,
  );
}
