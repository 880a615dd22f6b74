// The one place where errors become exit codes, the same for every command (README.md lists
// them): a user mistake is one line and exit 2, Redis away or refusing 6, a full Redis 7, and
// only an unexpected error (a bug) shows its stack, asking to be reported.
import { describeRefusal, readOnlyLine } from "../lib/cli/refusal.ts";
import { CourierError, causes, type ErrorCode, isOomError } from "../lib/errors.ts";
import { noAnswerLine } from "../lib/redis/cause.ts";

/** Exit codes, the same for every command (documented in README.md). */
export const EXIT = {
  ok: 0,
  /** The job (or one of the jobs) failed. */
  failed: 1,
  /** Bad usage or input: an unknown option, a malformed value, an invalid URL. */
  usage: 2,
  /** The job exists but has not ended yet. */
  notFinished: 3,
  /** No job with that id (never enqueued, or its record expired). */
  notFound: 4,
  /** Gave up waiting (`--wait SECONDS`). */
  timeout: 5,
  /** Redis unreachable, refused us, or too old. */
  connect: 6,
  /** Redis is out of memory (maxmemory reached, policy noeviction): the write was refused. */
  full: 7,
  /** The job was canceled (`result`: it ended without running to its end). */
  canceled: 8,
  /** A bug or an unexpected failure; the message says what. */
  internal: 70,
  /** Standard output was closed before the command ended (`| head`): it stopped there. */
  closedOutput: 141,
} as const;

/** A mistake in how the command was called: exit code 2 and a hint to use --help. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The colours citty puts around a name or a value in its errors (cyan on, default off). */
const CITTY_COLOURS = /\x1b\[(?:36|39)m/g;

const CODE_EXITS: Partial<Record<ErrorCode, number>> = {
  ECONFIG: EXIT.usage,
  EINPUT: EXIT.usage,
  EINVALIDURL: EXIT.usage,
  ECONNECT: EXIT.connect,
  EREDIS: EXIT.connect,
  EFULL: EXIT.full,
  ENOTFOUND: EXIT.notFound,
  ETIMEOUT: EXIT.timeout,
};

export function describeFailure(err: unknown): [number, string] {
  const name = process.argv[1]?.split("/").pop()?.replace(/\.ts$/, "") ?? "courier";
  const [code, text] = failureText(err);
  return [code, `${name}: ${text}`];
}

/** A failure's exit code and line, without the command's name (`dead` says it per id). */
export function failureText(err: unknown): [number, string] {
  // citty's own argument errors (a missing required option) carry the code EARG.
  // Our own messages are shown as they are (a value given with an escape in it shows it, by
  // safeText); citty's are coloured by it, and only its colours are taken out.
  if (err instanceof UsageError) return [EXIT.usage, err.message];
  if ((err as { code?: string })?.code === "EARG") {
    return [EXIT.usage, (err as Error).message.replace(CITTY_COLOURS, "")];
  }
  const refused = describeRefusal(err) ?? readOnlyLine(err);
  if (refused) return [EXIT.connect, refused];
  if (err instanceof CourierError) {
    const code = CODE_EXITS[err.code];
    if (code !== undefined) return [code, err.message];
  }
  if (causes(err).some(isOomError)) return [EXIT.full, OUT_OF_MEMORY];
  // node-redis' TimeoutError says nothing (an empty message): Redis did not answer.
  const late = noAnswerLine(err);
  if (late) return [EXIT.connect, late];
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return [EXIT.internal, `unexpected error (please report it): ${text}`];
}

const OUT_OF_MEMORY =
  'Redis is out of memory (maxmemory reached, policy noeviction): it refused this command and wrote nothing of it; free memory or raise maxmemory (see "Redis memory" in README.md), then run it again';
