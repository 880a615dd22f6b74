// `trigger --file … --summary --retry-connect`: the reply to the callback's enqueue is lost
// (Redis wrote it, the connection dropped before the answer): trigger sends it again, and the
// batch still has one callback, not two (the library makes a child's id before its first send).
import { beforeAll, describe, expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { lossyProxy } from "./fixtures/lossy-proxy.ts";
import { onOneServer, rawRedis, runCli, testPrefix } from "./helpers.ts";

beforeAll(async () => {
  if (!onOneServer) return;
  // Loaded, so the lost reply is the script's own and not a NOSCRIPT (the child is written).
  await using r = await rawRedis();
  await r.sendCommand(["SCRIPT", "LOAD", scripts.child.source]);
});

// A proxy in front of one server: a cluster client would learn the nodes' own addresses and go
// around it (scripts/cluster-pass.ts says the same of enqueue.lost-reply).
describe.skipIf(!onOneServer)("a batch whose callback's enqueue lost its reply", () => {
  test("--retry-connect sends it again: one callback, exit 0", async () => {
    const prefix = testPrefix();
    await using proxy = await lossyProxy(scripts.child.sha);
    const r = await runCli(
      "trigger",
      ["--prefix", prefix, "--file", "-", "--summary", "--retry-connect", "20"],
      { env: { REDIS_URL: proxy.url }, stdin: "example.org/a\nexample.org/b\n" },
    );
    expect(r.code).toBe(0);
    expect(proxy.dropped).toBe(1);
    const callback = /^trigger: callback (\S+) \(wordcount-summary\)/.exec(r.stderr)?.[1];
    expect(callback).toBeDefined();
    // The children set of the queue holds every job waiting for parents: the one callback.
    await using redis = await rawRedis();
    const waiting = await redis.sendCommand([
      "ZRANGE",
      queueKeys(prefix, "default").children,
      "0",
      "-1",
    ]);
    expect(waiting).toEqual([callback]);
  });
});
