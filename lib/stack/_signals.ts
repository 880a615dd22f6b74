// Counting Ctrl-Cs. One keypress can reach the stack several times: the terminal sends SIGINT to
// its whole foreground process group (npm, sh, `bun run` and us), and `npm run` and `bun run`
// each forward the one they got to their child. Those copies arrive within milliseconds; a
// person pressing Ctrl-C again to give up on the drain does so seconds later. So a signal counts
// as the second only when it comes at least REPEAT_WINDOW_MS after the first.

import { SignalCounter, STOP_SIGNALS, type StopSignal } from "../cli/stop-signals.ts";

export { REPEAT_WINDOW_MS, SignalCounter } from "../cli/stop-signals.ts";

export type SignalName = StopSignal;

export interface Signals {
  /** The name of the first SIGINT, SIGTERM or SIGHUP. */
  first: Promise<SignalName>;
  /** The name of the second one, REPEAT_WINDOW_MS or more after the first. */
  second: Promise<SignalName>;
  dispose(): void;
}

/** Listens for SIGINT, SIGTERM and SIGHUP (not when ignored at start: `nohup`) until dispose(). */
export function listenForSignals(now: () => number = () => performance.now()): Signals {
  const first = Promise.withResolvers<SignalName>();
  const second = Promise.withResolvers<SignalName>();
  const counter = new SignalCounter();
  const handler = (name: NodeJS.Signals) => {
    const verdict = counter.classify(now());
    if (verdict === "first") first.resolve(name as SignalName);
    if (verdict === "second") second.resolve(name as SignalName);
  };
  for (const name of STOP_SIGNALS) process.on(name, handler);
  return {
    first: first.promise,
    second: second.promise,
    dispose: () => {
      for (const name of STOP_SIGNALS) process.off(name, handler);
    },
  };
}
