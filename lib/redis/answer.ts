// A time limit on each command's answer, for the clients nobody replaces when they stall (a
// Queue's, an Admin's, a CLI's). A Redis that is stopped (`kill -STOP`, a VM paused) or a peer
// that accepts a connection and never replies leaves a command unanswered for ever: node-redis
// has no read timeout (its command timeout only runs until the command is written). A worker
// replaces a stalled connection (link.ts, its watchdogs); these clients reject the command
// instead (NoAnswerError, a ConnectError: exit 6, the dashboard's 503); a persistent client of
// one server then opens a new one when a new connection answers (single.ts reopenIfCut), a one-shot CLI's keeps its own.
import { ErrorReply } from "@redis/client";
import { NoAnswerError } from "../errors.ts";
import { blockMsOf } from "./route.ts";
import { clusterNodeUrl, maskUrl } from "./url.ts";
import { answerWithin } from "./watchdog.ts";

/** A cluster's node connection's socket: where its commands go. */
export type NodeSocket = { host?: string; port?: number };

/**
 * What the limit is put on: a command, given its arguments, and on a cluster the socket of the
 * node it went to, which its error names (the URL's seeds may well not include that node).
 */
export type Answered = <T>(
  args: readonly string[],
  command: Promise<T>,
  node?: NodeSocket,
) => Promise<T>;

/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
export const TIMER_MAX_MS = 2_147_483_647;

/**
 * How long a command may hold its connection in Redis by its own terms: a blocking read's
 * `BLOCK n` (route.ts), and `WAIT n ms` (a replicated write's, lib/redis/replicated.ts), which
 * holds it until the replicas answer or its time is up (for ever when 0).
 */
function heldMsOf(args: readonly string[]): number {
  if (args[0]?.toUpperCase() !== "WAIT") return blockMsOf(args);
  const ms = Number(args[2]);
  return ms > 0 ? ms : Number.POSITIVE_INFINITY;
}

/**
 * `limitMs` for each command, plus the time it may hold its connection by its own terms (a
 * blocking read's `BLOCK n`, a `WAIT`): one that may wait for ever (BLOCK 0) is not limited.
 * Replies come in order, so a command sent behind such a one (wait.ts pipelines one behind a
 * blocking read; enqueues go behind a replicated write's WAIT) is timed from its answer.
 * `onStall` is told first; `onAnswer` when a reply comes after a stall (Redis answers again).
 */
export function answerLimit(
  url: string,
  limitMs: number,
  onStall: () => void,
  onAnswer: () => void = noop,
): Answered {
  let blocker: Promise<unknown> | null = null;
  let stalled = false;
  const answeredAgain = () => {
    if (!stalled) return;
    stalled = false;
    onAnswer();
  };
  return <T>(args: readonly string[], command: Promise<T>, node?: NodeSocket) => {
    const blockMs = heldMsOf(args);
    const ahead = blocker;
    const limited = () => {
      if (blockMs === Number.POSITIVE_INFINITY) return command;
      const ms = Math.min(limitMs + blockMs, TIMER_MAX_MS);
      return answerWithin(command, ms, () => {
        stalled = true;
        onStall();
        const at = maskUrl(node ? clusterNodeUrl(url, node) : url);
        return new NoAnswerError(`Redis at ${at} did not answer within ${ms} ms`);
      });
    };
    // Its caller hears of a failure, not the process; a reply after a stall clears it, an
    // error reply too (WRONGTYPE, OOM: Redis answered).
    command.then(answeredAgain, (err) => {
      if (err instanceof ErrorReply) answeredAgain();
    });
    const answered = ahead ? ahead.then(limited) : limited();
    if (blockMs > 0) {
      const settled = answered.then(noop, noop);
      blocker = settled;
      void settled.then(() => {
        if (blocker === settled) blocker = null;
      });
    }
    return answered;
  };
}

function noop(): void {}

/** Puts the limit on every command a client sends. */
export function limitAnswers(
  client: { sendCommand: (args: readonly string[], ...rest: never[]) => Promise<unknown> },
  answered: Answered,
): void {
  const send = client.sendCommand.bind(client);
  client.sendCommand = (args, ...rest) => answered(args, send(args, ...rest));
}
