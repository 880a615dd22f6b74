// What `cancel` prints for each id (bin/cancel.ts), and the exit code of the whole run.
import type { CancelVerdict } from "../engine/cancel.ts";
import { safeText } from "../safe-text.ts";

/**
 * One line per id: on stdout when the id was canceled or had ended, on stderr otherwise.
 * `where` names the queue looked in (`queue "default" (prefix courier)`), as `result` does.
 */
export function cancelLine(v: CancelVerdict, where?: string): { out: boolean; text: string } {
  const id = safeText(v.id);
  switch (v.verdict) {
    case "canceled":
      return { out: true, text: `${id}: canceled (was ${v.from})` };
    case "ended":
      return { out: true, text: `${id}: already ${v.status}, nothing to cancel` };
    case "corrupt":
      return {
        out: false,
        text: `${id}: not canceled: its outcome or record key holds a ${safeText(v.type)}, not what Courier writes (another program uses these keys)`,
      };
    default:
      return {
        out: false,
        text: where
          ? `${id}: no such job in ${safeText(where)}: unknown id, or its record has expired, or it is in another queue (--queue)`
          : `${id}: no such job (unknown id, or its record has expired)`,
      };
  }
}

/** The verdict as JSON: `{ id, verdict, from | status | type }`. */
export function cancelJson(v: CancelVerdict): Record<string, unknown> {
  return { ...v };
}

/** What a run of `cancel` met so far, over its chunks of ids. */
export interface CancelTally {
  /** Ids unknown. */
  unknown: number;
  /** Ids with a key of another type. */
  corrupt: number;
  /** Lines of standard input that were no job id. */
  bad: number;
}

export function tallyOf(verdicts: readonly CancelVerdict[], tally: CancelTally): void {
  for (const v of verdicts) {
    if (v.verdict === "unknown") tally.unknown++;
    else if (v.verdict === "corrupt") tally.corrupt++;
  }
}

/**
 * The run's exit code: 0 when every id was canceled or had ended (a second cancel is a no-op);
 * else `refused` when a key of some id holds another type (the data needs a look), `usage` when
 * a line of the input was no job id, `notFound` when some id is unknown.
 */
export function cancelExit(
  tally: CancelTally,
  codes: { notFound: number; refused: number; usage: number },
): number {
  if (tally.corrupt > 0) return codes.refused;
  if (tally.bad > 0) return codes.usage;
  if (tally.unknown > 0) return codes.notFound;
  return 0;
}
