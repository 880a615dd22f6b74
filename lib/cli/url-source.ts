// Where the Redis URL came from, for a connection error: an exported REDIS_URL is easy to forget
// (`npm run up` then connects to it instead of starting a Redis), so the error says so.
import { ConnectError } from "../errors.ts";
import { maskUrl } from "../redis/url.ts";

/** Errors meaning no Redis answered at that address. */
const UNREACHABLE = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\b/;

/** Flags that choose the Redis themselves: with one of them REDIS_URL was not used. */
const OWN_REDIS_FLAGS = ["--redis-url", "--redis-port"];

/**
 * ` (from REDIS_URL; unset it or start that Redis)` when `err` is a failed connection to the URL
 * in the environment's REDIS_URL and no flag gave another; "" otherwise.
 */
export function urlSourceHint(
  err: unknown,
  rawArgs: readonly string[],
  env: Record<string, string | undefined> = process.env,
): string {
  const fromEnv = env.REDIS_URL;
  if (!fromEnv || !(err instanceof ConnectError)) return "";
  if (!err.message.startsWith(`cannot connect to Redis at ${maskUrl(fromEnv)}:`)) return "";
  // Only when nothing answered there: a Redis that answers (a TLS or password refusal) is
  // running, and its error says what to check.
  if (!UNREACHABLE.test(err.message)) return "";
  const flagged = rawArgs.some((a) =>
    OWN_REDIS_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)),
  );
  return flagged ? "" : " (from REDIS_URL; unset it or start that Redis)";
}
