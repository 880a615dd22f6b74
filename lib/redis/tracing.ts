// node-redis traces every command through a diagnostics_channel TracingChannel unless its
// `hasSubscribers` is false; Bun (1.4.5) has no such property (undefined), so each command paid
// for a trace nobody listens to: a copy of its arguments with every value masked (3,500 of them
// for a bulk enqueue's batch of 500 jobs) and a promise wrapped in start/end events. This
// defines the property as Node does (any of the channel's five events has a subscriber), so a
// subscriber, when there is one, still sees every command. Nothing changes where it exists.
import { tracingChannel } from "node:diagnostics_channel";

type Events = Record<
  "start" | "end" | "asyncStart" | "asyncEnd" | "error",
  { hasSubscribers: boolean }
>;

const proto: object = Object.getPrototypeOf(tracingChannel("courier:probe"));
if (!("hasSubscribers" in proto)) {
  Object.defineProperty(proto, "hasSubscribers", {
    configurable: true,
    get(this: Events): boolean {
      return (
        this.start.hasSubscribers ||
        this.end.hasSubscribers ||
        this.asyncStart.hasSubscribers ||
        this.asyncEnd.hasSubscribers ||
        this.error.hasSubscribers
      );
    },
  });
}
