// What `dead requeue ID…|-` and `dead delete ID…|-` print for each id (bin/dead.ts), and the
// exit code of the whole run: each id is settled on its own (lib/admin/dead-actions.ts); ids on
// standard input (`-`) are read and acted on a chunk at a time, as `cancel -` reads them.
import type { DeleteResult, FailedId, RequeueResult } from "../lib/admin/dead-actions.ts";
import type { RequeueAllTally } from "../lib/admin/letters.ts";
import { badIdLine, type IdChunk, idChunks } from "../lib/cli/cancel-input.ts";
import { safeText, shownId, shownInput } from "../lib/safe-text.ts";
import { ERROR_LINE_MAX, EXIT } from "./_cli.ts";
import { failureText } from "./_exit.ts";

const WHY = {
  missing: "no dead letter for this job",
  active: "its job is queued or running again, not dead (the letter is left alone)",
} as const;

/** `requeue --json`'s line for an id: its verdict, and a failed call's cause as `reason`. */
export function requeuedJson(d: RequeueResult): object {
  return d.verdict === "failed" ? { id: d.id, verdict: "failed", reason: failed(d) } : d;
}

/** `delete --json`'s line for an id: deleted or not, and why not when Redis said (or failed). */
export function deletedJson(d: DeleteResult): Record<string, unknown> {
  if (d.verdict === "unreadable") return { id: d.id, deleted: false, unreadable: d.reason };
  if (d.verdict === "failed") return { id: d.id, deleted: false, failed: failed(d) };
  return { id: d.id, deleted: d.verdict === "deleted" };
}

/** An id not acted on, and why, on stderr: quoted as `show` quotes it (cut past any id's length). */
export function notDone(d: RequeueResult | DeleteResult): void {
  process.stderr.write(`dead: ${shownId(d.id)}: ${why(d)}\n`);
}

/** Why an id was not acted on, in one line (what Redis refused, for an unreadable one). */
function why(d: RequeueResult | DeleteResult): string {
  if (d.verdict === "unreadable") return safeText(d.reason);
  if (d.verdict === "failed") return `failed: ${failed(d)}`;
  return d.verdict === "active" ? WHY.active : WHY.missing;
}

/** The failure of an id's call, in one bounded line (as the command would say it alone). */
function failed(d: FailedId): string {
  return failureLine(d.error);
}

/** A failure in one bounded line, as the command would say it alone (its stack left out). */
function failureLine(error: unknown): string {
  return shownInput(failureText(error)[1].split("\n")[0]!, ERROR_LINE_MAX);
}

/**
 * `requeue --all` stopped by a failed call after others were done: its line, the JSON's
 * `failed` reason, and its exit code (that failure's); null when it was not stopped.
 */
export function stoppedAnswer(
  t: RequeueAllTally,
): { line: string; reason: string; code: number } | null {
  if (t.error === undefined) return null;
  const reason = failureLine(t.error);
  const line = `the other dead jobs were not requeued: ${reason}`;
  return { line, reason, code: failureText(t.error)[0] };
}

/**
 * Each id is settled on its own: 0 when all were `ok`; else the code of a failed call (7 for a
 * full Redis, 6 for a lost one), else 6 when Redis refused one's keys (as for any command it
 * refuses), else 4 (no dead letter, or the job alive again).
 */
function exitOf(done: readonly (RequeueResult | DeleteResult)[], ok: string): number {
  const failure = done.find((d): d is FailedId => d.verdict === "failed");
  if (failure) return failureText(failure.error)[0];
  if (done.some((d) => d.verdict === "unreadable")) return EXIT.connect;
  return done.some((d) => d.verdict !== ok) ? EXIT.notFound : EXIT.ok;
}

/**
 * Acts on the ids given chunk by chunk (`act`: Admin.requeue or deleteDeadEach) and prints each
 * id's answer (`say`, awaited: a slow reader holds the next chunk back, so memory stays one chunk
 * however many ids a pipe feeds in). `-` reads ids from stdin, one a line, 1,000 at a time as
 * they come; a line that is no job id is said with its number and the others are still acted
 * on. The exit code: a failed call's, else 6 (keys refused), else 2 (a bad line), else 4 (no
 * dead letter), else 0. Ids only on the command line go in one chunk, as before.
 */
export async function eachChunk<T extends RequeueResult | DeleteResult>(
  given: readonly string[],
  act: (ids: string[]) => Promise<T[]>,
  say: (d: T) => Promise<void>,
  ok: T["verdict"],
): Promise<number> {
  const chunks = given.includes("-") ? await idChunks(given) : oneChunk(given);
  let code = 0;
  let bad = 0;
  try {
    for await (const chunk of chunks) {
      for (const b of chunk.bad) process.stderr.write(`dead: ${badIdLine(b)}\n`);
      bad += chunk.bad.length;
      const done = chunk.ids.length > 0 ? await act(chunk.ids) : [];
      for (const d of done) await say(d);
      code = worse(code, exitOf(done, ok));
    }
  } finally {
    // Stopped early (Redis gone) while a pipe still feeds us: the read must not keep us running.
    if (given.includes("-")) process.stdin.destroy();
  }
  return bad > 0 ? worse(code, EXIT.usage) : code;
}

async function* oneChunk(ids: readonly string[]): AsyncGenerator<IdChunk> {
  yield { ids: [...ids], bad: [] };
}

/** The code that says more of two: a failed call's, then 6, then 2 (usage), then 4, then 0. */
function worse(a: number, b: number): number {
  const rank = (c: number) =>
    c === 0 ? 0 : c === EXIT.notFound ? 1 : c === EXIT.usage ? 2 : c === EXIT.connect ? 3 : 4;
  return rank(b) > rank(a) ? b : a;
}
