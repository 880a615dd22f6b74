// The JSON API under /api/ (the page uses nothing else) and /metrics, for one queue (the
// server picks it from `?queue=`). Reads are open unless the dashboard asks a token for them; actions
// (POST) need the token. Every list is bounded: pages of dead letters, the latest failures,
// the last hour's minutes, so a queue of 100,000 jobs costs what an empty one does. This file
// is what every handler shares (the request's queue, a JSON answer, a failure told safely);
// the reads are api-reads.ts, the actions api-actions.ts.

import type { Admin } from "../admin/admin.ts";
import { ConnectError, isOomError, RedisRefusedError } from "../errors.ts";
import type { Queue } from "../queue/queue.ts";
import { describeCause, noAnswerLine } from "../redis/cause.ts";
import { cutText, safeJson } from "../safe-text.ts";
import { dashboardDefaults } from "./options.ts";

export interface Api {
  /** The queue this request is about. */
  admin: Admin;
  /** A producer for that queue (trigger), connected on first use. */
  producer: () => Promise<Queue>;
  /** Actions are on only when there is a token. */
  actions: boolean;
}

/**
 * A record's free text as a snapshot carries it (a worker's host, a task or schedule name): cut
 * past dashboardDefaults.shownFieldMaxChars. Redis can hold any string, and each snapshot goes
 * to every open page every second; what Courier writes is shown whole.
 */
export function shownField(text: string): string {
  const max = dashboardDefaults.shownFieldMaxChars;
  return text.length > max ? cutText(text, max - 1) : text;
}

/**
 * A JSON answer. safeJson, not Response.json: JSON.stringify leaves DEL, C1 (U+009B is a
 * terminal's CSI), bidi controls and line separators raw, and `curl …/api/jobs/ID` on a
 * terminal would obey a job's error or payload; the same value, those spelled as \u escapes.
 */
export function json(body: unknown, status = 200): Response {
  const headers = { "content-type": "application/json;charset=utf-8", "cache-control": "no-store" };
  return new Response(safeJson(body), { status, headers });
}

/**
 * What a page or an API client is told of a failure, and the status: a full Redis (507: the
 * action wrote nothing and works once there is room), a refusal for good (409: another data
 * format, NOPERM), Redis away (503); anything else is a 500
 * that only points to the log, where the details go (never Redis' own message to the client).
 */
export function publicFailure(err: unknown): { status: number; error: string } {
  if (isOomError(err)) {
    const error =
      "Redis is out of memory (maxmemory reached): it refused this and wrote nothing; free memory (purge dead letters) or raise maxmemory, then try again";
    return { status: 507, error };
  }
  // Refused for good (another data format, NOPERM): its own line, which names no secret; before
  // the class-name test below, which its name (RedisRefusedError) would match as Redis away.
  if (err instanceof RedisRefusedError) return { status: 409, error: err.message };
  const name = (err as Error)?.constructor?.name ?? "";
  // A ConnectError: Redis stopped answering (NoAnswerError, lib/redis/answer.ts), among others.
  if (
    err instanceof ConnectError ||
    /Client|Socket|Connect|Reconnect|Redis|Offline|Closed/.test(name) ||
    noAnswerLine(err) !== null
  ) {
    return { status: 503, error: `Redis unavailable: ${describeCause(err)}` };
  }
  // JSON-quoted, escaped: a control character in the message does not reach the terminal raw.
  process.stderr.write(`dashboard: internal error: ${safeJson(describeCause(err))}\n`);
  return { status: 500, error: "internal error: the dashboard's log has the details" };
}
