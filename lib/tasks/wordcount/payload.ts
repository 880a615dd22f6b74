// The word-count task's payload as a producer names the task (`{ "url": … }`): checked, its URL
// normalised (url.ts), before it is stored. One check for `trigger --task wordcount`, `--then
// wordcount`, `schedule add` and Schedules.add: the library took any payload, so a URL with a
// password was stored (and listed), and a non-http one failed at every tick of its schedule.
import { InputError } from "../../errors.ts";
import { WORDCOUNT_TASK } from "./name.ts";
import { normaliseUrl } from "./url.ts";

/**
 * `{ url }` with the URL normalised (InvalidUrlError naming the problem, password masked); an
 * InputError for a payload of another shape, `hint` after its line (the CLI's ` (or use --url)`).
 */
export function wordCountPayload(payload: unknown, hint = ""): { url: string } {
  const url = (payload as { url?: unknown } | null | undefined)?.url;
  if (typeof url !== "string") {
    throw new InputError(`task ${WORDCOUNT_TASK} takes the payload {"url": "…"}${hint}`);
  }
  return { url: normaliseUrl(url) };
}
