// What `cancel` prints for each id (bin/cancel.ts), and the exit code of the whole run.
import type { CancelVerdict } from "../engine/cancel.ts";
import { safeText } from "./safe-text.ts";

/** One line per id: on stdout when the id was canceled or had ended, on stderr otherwise. */
export function cancelLine(v: CancelVerdict): { out: boolean; text: string } {
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
      return { out: false, text: `${id}: no such job (unknown id, or its record has expired)` };
  }
}

/** The verdict as JSON: `{ id, verdict, from | status | type }`. */
export function cancelJson(v: CancelVerdict): Record<string, unknown> {
  return { ...v };
}

/**
 * The run's exit code: 0 when every id was canceled or had ended (a second cancel is a no-op),
 * `notFound` when some id is unknown, `refused` when a key of some id holds another type.
 */
export function cancelExit(
  verdicts: readonly CancelVerdict[],
  codes: { notFound: number; refused: number },
): number {
  if (verdicts.some((v) => v.verdict === "corrupt")) return codes.refused;
  if (verdicts.some((v) => v.verdict === "unknown")) return codes.notFound;
  return 0;
}
