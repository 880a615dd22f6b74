// node-redis traces every command through a diagnostics_channel TracingChannel unless the
// channel says no one listens (`hasSubscribers === false`). Bun's TracingChannel has no
// `hasSubscribers` (Bun 1.4), so node-redis traced every call: a context object with every
// argument turned to text (650 for a finish of 128 jobs), two closures and a promise more
// per command, for no subscriber. Defined here as Node defines it (any of its five channels
// has subscribers), so a tracer that subscribes (OpenTelemetry) is still served.
import dc from "node:diagnostics_channel";

const proto = Object.getPrototypeOf(dc.tracingChannel("courier:probe")) as object;
if (!("hasSubscribers" in proto)) {
  Object.defineProperty(proto, "hasSubscribers", {
    configurable: true,
    get(this: Record<"start" | "end" | "asyncStart" | "asyncEnd" | "error", dc.Channel>) {
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
