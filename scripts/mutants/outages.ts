// Mutants of a Redis that stops answering (lib/redis/answer.ts, connect.ts): no command of a
// Queue, an Admin, a CLI or the dashboard may hang on it (tests/redis.no-answer.test.ts).
import { type Mutant, m } from "./mutant.ts";

const T = "tests/redis.no-answer.test.ts";

// biome-ignore format: a table, one mutant to three lines
export const outageMutants: Mutant[] = [
  m("answer-unlimited", "lib/redis/answer.ts", "a command Redis leaves unanswered fails within its limit",
    "      if (ms === Number.POSITIVE_INFINITY) return command;",
    "      return command;", [T]),
  m("answer-block-not-added", "lib/redis/answer.ts", "a blocking read's limit is its BLOCK time plus the answer limit",
    "      const ms = limitMs + blockMs;",
    "      const ms = limitMs;", [T]),
  m("answer-behind-blocker", "lib/redis/answer.ts", "a command pipelined behind a blocking read is timed from that read's answer",
    "    const answered = ahead ? ahead.then(limited) : limited();",
    "    const answered = limited();", [T]),
  m("connect-no-default-limit", "lib/redis/connect.ts", "connecting gives up without an answer within 5 s (or the answer limit)",
    "  const firstMs = options.timeoutMs ?? Math.min(CONNECT_TIMEOUT_MS, answerMs ?? CONNECT_TIMEOUT_MS);",
    "  const firstMs = options.timeoutMs ?? 1_000_000_000;", [T]),
  m("connect-cause-overwritten", "lib/redis/connect.ts", "a connect past its limit says no answer, not the socket destroy() closed",
    "    if (!timedOut) lastCause = err;",
    "    lastCause = err;", [T]),
  m("connect-close-waits-stalled", "lib/redis/connect.ts", "closing a client whose Redis stopped answering waits for no reply",
    "  if (client.isReady && !stalled.has(client))",
    "  if (client.isReady)", [T],
    "only slower: the close waits closeClient's 5 s for the replies, then destroys the client; no test times it"),
  m("admin-no-answer-limit", "lib/admin/admin.ts", "an Admin's commands get its commandTimeoutMs",
    "      answerMs: options.commandTimeoutMs,",
    "", [T]),
  m("producer-no-answer-limit", "lib/queue/producer.ts", "a Queue's commands get its commandTimeoutMs",
    "      answerMs: options.commandTimeoutMs,",
    "", [T]),
  m("lost-write-unsaid", "lib/redis/calls.ts", "a write left unanswered may or may not have been done (LostReplyError)",
    "  if (err instanceof NoAnswerError) {",
    "  if (false) {", [T]),
  m("dashboard-no-answer-500", "lib/dashboard/api.ts", "the dashboard answers 503 while Redis does not answer",
    "    err instanceof ConnectError ||\n",
    "", [T]),
  m("cause-says-own-code", "lib/redis/cause.ts", "a line of Courier's own error does not start with its code",
    "const code = err instanceof CourierError ? undefined : (err as { code?: string }).code;",
    "const code = (err as { code?: string }).code;", [T]),
  m("cli-limit-env-ignored", "bin/_args.ts", "COURIER_COMMAND_TIMEOUT_MS sets a command's answer limit",
    "    commandTimeoutMs: commandTimeoutEnv(),",
    "    commandTimeoutMs: undefined,", [T]),
  m("cli-limit-env-unchecked", "bin/_args.ts", "COURIER_COMMAND_TIMEOUT_MS takes whole ms only",
    "  const n = /^\\d{1,10}$/.test(value) ? Number(value) : Number.NaN;",
    "  const n = Number(value);", [T]),
];
