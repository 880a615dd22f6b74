// A worker's name: who may take it. A record with this host and this process's pid is a
// previous incarnation (a container restarted after a crash runs as pid 1 again, on the same
// host name), unless this very process runs a worker of that name now.
import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { ConfigError } from "../lib/errors.ts";
import { queueKeys } from "../lib/keys.ts";
import { rawRedis, startWorker, testPrefix } from "./helpers.ts";

describe("a worker name held with our own pid", () => {
  test("left by an earlier process (a restarted container): taken back at once", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const key = queueKeys(prefix, "default").worker("pid1");
    // What a crashed incarnation left: same host, same pid, a heartbeat just now.
    await r.sendCommand(["HSET", key, "host", hostname(), "pid", String(process.pid)]);
    await r.sendCommand(["HSET", key, "seen_at", String(Date.now())]);
    await r.sendCommand(["PEXPIRE", key, "30000"]);
    const w = await startWorker({ prefix, tasks: [], name: "pid1" });
    expect(w.name).toBe("pid1");
    await w.stop(0);
  });

  test("run by this process (a second Worker with the same name): refused", async () => {
    const prefix = testPrefix();
    const first = await startWorker({ prefix, tasks: [], name: "twin" });
    const second = startWorker({ prefix, tasks: [], name: "twin" });
    await expect(second).rejects.toThrow(ConfigError);
    await expect(second).rejects.toThrow(/a worker named "twin" is already running/);
    // The refused start did not free the first one's name: a third is refused too.
    await expect(startWorker({ prefix, tasks: [], name: "twin" })).rejects.toThrow(ConfigError);
    await first.stop(0);
    // Stopped, the name is free for this process again.
    const again = await startWorker({ prefix, tasks: [], name: "twin" });
    await again.stop(0);
  });
});
