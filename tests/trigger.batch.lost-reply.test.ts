// `trigger --file … --summary --retry-connect`: the reply to the callback's enqueue is lost
// (Redis wrote it, the connection dropped before the answer): trigger sends it again, and the
// batch still has one callback, not two (the library makes a child's id before its first send).
// Without --retry-connect, trigger names the callback that may have been enqueued, and with
// --id-from-url the same command run again goes on with it (no second callback), whether the
// reply lost was the record's (child.lua) or a parent shard's (depend.lua 'add').
import { beforeAll, describe, expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { LostReplyError } from "../lib/errors.ts";
import { lossyProxy } from "./fixtures/lossy-proxy.ts";
import { onOneServer, openQueue, rawRedis, runCli, testPrefix } from "./helpers.ts";

beforeAll(async () => {
  if (!onOneServer) return;
  // Loaded, so the lost reply is the script's own and not a NOSCRIPT (the child is written).
  await using r = await rawRedis();
  await r.sendCommand(["SCRIPT", "LOAD", scripts.child.source]);
});

// A proxy in front of one server: a cluster client would learn the nodes' own addresses and go
// around it: left out of the cluster pass, as enqueue.lost-reply is (scripts/cluster-pass.ts).
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

  const args = (prefix: string) => [
    "--prefix",
    prefix,
    "--file",
    "-",
    "--summary",
    "--id-from-url",
  ];
  const input = "example.org/a\nexample.org/b\n";

  /** Runs trigger with the reply to the first write holding `pattern` lost, then again. */
  async function lostThenAgain(prefix: string, pattern: string) {
    await using proxy = await lossyProxy(pattern);
    const env = { REDIS_URL: proxy.url };
    const first = await runCli("trigger", args(prefix), { env, stdin: input });
    expect(proxy.dropped).toBe(1);
    expect(first.code).not.toBe(0);
    const named = /callback may have been enqueued: (\S+);/.exec(first.stderr)?.[1];
    expect(first.stderr).not.toContain("callback was not enqueued");
    expect(first.stderr).toContain("run the same command again");
    const again = await runCli("trigger", args(prefix), { stdin: input });
    expect(again.code).toBe(0);
    expect(/^trigger: callback (\S+) \(wordcount-summary\)/m.exec(again.stderr)?.[1]).toBe(named);
    await using redis = await rawRedis();
    const k = queueKeys(prefix, "default");
    expect(await redis.sendCommand(["ZRANGE", k.children, "0", "-1"])).toEqual([named]);
    for (const id of again.stdout.trim().split("\n")) {
      expect(await redis.sendCommand(["SMEMBERS", k.dependentsPrefix + id])).toEqual([named]);
    }
  }

  test("the library names the child it made when the reply is lost", async () => {
    await using proxy = await lossyProxy(scripts.child.sha);
    await using q = await openQueue({ prefix: testPrefix(), redisUrl: proxy.url });
    const parent = await q.enqueue("t", {});
    const err = await q.enqueue("cb", {}, { dependsOn: [parent] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LostReplyError);
    const id = /job (\S+) may or may not have been enqueued/.exec(String(err))?.[1];
    expect(id).toBeDefined();
    await using redis = await rawRedis();
    const k = queueKeys(q.options.prefix, "default");
    expect(await redis.sendCommand(["ZRANGE", k.children, "0", "-1"])).toEqual([id]);
  });

  test("the record's reply lost: the callback is named, and a run again adds no second", async () => {
    await lostThenAgain(testPrefix(), scripts.child.sha);
  });

  test("a parent shard's reply lost: the same", async () => {
    const prefix = testPrefix();
    const k = queueKeys(prefix, "default");
    await lostThenAgain(prefix, `add\r\n$${k.resultPrefix.length}\r\n${k.resultPrefix}`);
  });
});
