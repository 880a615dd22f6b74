// The dashboard answers 503 to a read Redis leaves unanswered (README, "Commands"), however
// long the command limit (commandTimeoutMs, 10 s by default; a cluster's master down, 10 s
// too). Bun closes a connection that stays silent for its idle timeout, 10 s unless told: a
// read that took that long got no answer at all (an empty reply, curl's exit 52), not the 503.
import { expect, test } from "bun:test";
import { startDashboard } from "../lib/dashboard/server.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import { onOneServer, testPrefix } from "./helpers.ts";

/** Past Bun's default idle timeout (10 s, checked every 4 s: closed 8 to 12 s after the last byte). */
const LIMIT_MS = 14_000;

// One server only: the proxy fronts one server (a cluster client would go around it).
test.if(onOneServer)(
  "a read Redis leaves unanswered past 10 s gets its 503, not a closed connection",
  async () => {
    const { proxy, url } = viaProxy();
    const dashboard = await startDashboard({
      ...{ redisUrl: url, prefix: testPrefix(), commandTimeoutMs: LIMIT_MS },
      port: 0,
    });
    try {
      proxy.hold(); // Redis slow: nothing it says gets through
      const read = (path: string) =>
        fetch(`${dashboard.url}${path}`).then(
          (res) => res.status,
          (err: Error) => `no answer: ${err.message}`,
        );
      const [overview, metrics] = await Promise.all([read("/api/overview"), read("/metrics")]);
      expect({ overview, metrics }).toEqual({ overview: 503, metrics: 503 });
    } finally {
      proxy.release();
      await dashboard.stop();
      proxy.close();
    }
  },
  30_000,
);
