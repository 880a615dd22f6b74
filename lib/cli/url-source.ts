// Where the Redis URL came from, for a connection error: an exported REDIS_URL is easy to forget
// (`npm run up` then connects to it instead of starting a Redis), so the error says so.
import { ConnectError } from "../errors.ts";
import { maskUrl } from "../redis/url.ts";

/** Errors meaning no Redis answered at that address. */
const UNREACHABLE = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\b/;

/** Set (to "stack") in the environment of a stack's children: their REDIS_URL is the stack's. */
export const REDIS_URL_FROM = "COURIER_REDIS_URL_FROM";

/** Flags that choose the Redis themselves: with one of them REDIS_URL was not used. */
const OWN_REDIS_FLAGS = ["--redis-url", "--redis-port"];

/**
 * ` (from REDIS_URL; unset it or start that Redis)` when `err` is a failed connection to the URL
 * in the environment's REDIS_URL, the user's (not a stack's, for its children), and no flag gave
 * another; "" otherwise.
 */
export function urlSourceHint(
  err: unknown,
  rawArgs: readonly string[],
  env: Record<string, string | undefined> = process.env,
): string {
  const fromEnv = env.REDIS_URL;
  if (!fromEnv || env[REDIS_URL_FROM] === "stack" || !(err instanceof ConnectError)) return "";
  if (!err.message.startsWith(`cannot connect to Redis at ${maskUrl(fromEnv)}:`)) return "";
  // Only when nothing answered there: a Redis that answers (a TLS or password refusal) is
  // running, and its error says what to check.
  if (!UNREACHABLE.test(err.message)) return "";
  const flagged = rawArgs.some((a) =>
    OWN_REDIS_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)),
  );
  return flagged ? "" : " (from REDIS_URL; unset it or start that Redis)";
}
