// A time limit on each command's answer, for the clients nobody replaces when they stall (a
// Queue's, an Admin's, a CLI's). A Redis that is stopped (`kill -STOP`, a VM paused) or a peer
// that accepts a connection and never replies leaves a command unanswered for ever: node-redis
// has no read timeout (its command timeout only runs until the command is written). A worker
// replaces a stalled connection (link.ts, its watchdogs); these clients reject the command
// instead (NoAnswerError, a ConnectError: exit 6, the dashboard's 503) and keep the connection,
// so a Redis that resumes answers the next command.
import { NoAnswerError } from "../errors.ts";
import { blockMsOf } from "./route.ts";
import { maskUrl } from "./url.ts";
import { answerWithin } from "./watchdog.ts";

/** What the limit is put on: a command, given its arguments. */
export type Answered = <T>(args: readonly string[], command: Promise<T>) => Promise<T>;

/**
 * `limitMs` for each command, plus the time a blocking read may wait by its own terms (`BLOCK
 * n`): a command that blocks for ever (BLOCK 0) is not limited. Replies come in order, so a
 * command sent behind a blocking read (wait.ts pipelines one) is timed from that read's
 * answer. `onStall` is told first.
 */
export function answerLimit(url: string, limitMs: number, onStall: () => void): Answered {
  let blocker: Promise<unknown> | null = null;
  return <T>(args: readonly string[], command: Promise<T>) => {
    const blockMs = blockMsOf(args);
    const ahead = blocker;
    const limited = () => {
      const ms = limitMs + blockMs;
      if (ms === Number.POSITIVE_INFINITY) return command;
      return answerWithin(command, ms, () => {
        onStall();
        return new NoAnswerError(`Redis at ${maskUrl(url)} did not answer within ${ms} ms`);
      });
    };
    command.catch(() => {}); // its caller hears of a failure, not the process
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
