// close() and the calls around it (lib/redis/gate.ts): a call made before close() gets its reply,
// one made after it an InputError ("this Queue is closed"), never the false outage "Redis is
// unreachable: The client is closed". An Admin's and a Schedules' calls fail as a Queue's do:
// Redis away is a ConnectError naming the URL, after close() an InputError.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientClosedError } from "@redis/client";
import { Admin } from "../lib/admin/admin.ts";
import { ConnectError, InputError } from "../lib/errors.ts";
import { CallGate } from "../lib/redis/gate.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { viaProxy } from "./fixtures/proxy.ts";
import { onOneServer, openQueue, redisUrl, testPrefix, testShards, until } from "./helpers.ts";

/** How a call ended: "ok", or the error's class, code and message. */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: Error & { code?: string }) => `${e.constructor.name}(${e.code}): ${e.message}`,
  );

test("calls made just before a Queue's close() get their replies", async () => {
  const prefix = testPrefix();
  await using first = await openQueue({ prefix });
  const id = await first.enqueue("t", 1);
  const q = await openQueue({ prefix });
  // No await between: each call's command is not written yet when close() begins.
  const made = [
    outcome(q.getJobs([id])),
    outcome(q.getJob(id)),
    outcome(q.cancel(["1-1"])),
    outcome(q.enqueueMany([{ task: "t" }])),
  ];
  await q.close();
  const [getJobs, getJob, cancel, many] = await Promise.all(made);
  expect({ getJobs, getJob, cancel }).toEqual({ getJobs: "ok", getJob: "ok", cancel: "ok" });
  // One not sent yet (its layout read first): refused as closed, or done; never "unreachable".
  expect(many).toMatch(/^ok$|this Queue is closed/);
  expect(await outcome(q.getJob(id))).toMatch(/^InputError\(EINPUT\): this Queue is closed/);
});

test("an Admin's calls made before close() get their replies; after it, InputError", async () => {
  const prefix = testPrefix();
  const a = await Admin.connect({ redisUrl: redisUrl(), prefix, shards: testShards() });
  const made = [outcome(a.overview()), outcome(a.jobs({ state: "waiting", limit: 5 }))];
  await a.close();
  expect(await Promise.all(made)).toEqual(["ok", "ok"]);
  const after = a.deadLetters({ limit: 5 });
  await expect(after).rejects.toBeInstanceOf(InputError);
  await expect(after).rejects.toThrow(/this Admin is closed/);
  await expect(a.forQueue("other").overview()).rejects.toThrow(/this Admin is closed/);
  const s = await Schedules.connect({ redisUrl: redisUrl(), prefix });
  const listed = outcome(s.list());
  await s.close();
  expect(await listed).toBe("ok");
  await expect(s.list()).rejects.toThrow(/this Schedules is closed/);
  await expect(s.get("x")).rejects.toBeInstanceOf(InputError);
});

let server: RedisServer | null = null;
const dataDir = mkdtempSync(join(tmpdir(), "courier-close-calls-"));
afterEach(async () => {
  await server?.stop(2_000);
  rmSync(dataDir, { recursive: true, force: true });
});

test("Redis away: an Admin's and a Schedules' calls are ConnectErrors naming the URL", async () => {
  const port = await findFreePort();
  server = await startRedisServer({ port, dataDir, persistence: false });
  const a = await Admin.connect({ redisUrl: server.url, prefix: testPrefix() });
  const s = await Schedules.connect({ redisUrl: server.url, prefix: testPrefix() });
  server.kill();
  await server.exited;
  server = null;
  const ended = await Promise.allSettled([a.overview(), a.pause(), s.list(), s.remove("x")]);
  for (const end of ended) {
    const err = end.status === "rejected" ? end.reason : null;
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe("ECONNECT");
    expect((err as Error).message).toContain(`Redis at redis://127.0.0.1:${port} is unreachable`);
  }
  await Promise.all([a.close(), s.close()]);
  await expect(a.overview()).rejects.toThrow(/this Admin is closed/);
});

test("a try refused by our own close is refused as closed, not as an outage", async () => {
  const gate = new CallGate("Queue", "Queue.connect");
  let refuse!: () => void;
  const closed = new Promise<void>((resolve) => {
    refuse = resolve;
  });
  // A command sent once close() began: node-redis refuses it, the client being closed.
  const call = gate.try(async () => {
    await closed;
    throw new ClientClosedError();
  });
  const closing = gate.close();
  refuse();
  await expect(call).rejects.toThrow(/this Queue is closed/);
  await closing;
  // A try failing so before close() is left as it is (calls.ts maps it: "unreachable").
  await expect(
    new CallGate("Admin", "Admin.connect").try(() => Promise.reject(new ClientClosedError())),
  ).rejects.toBeInstanceOf(ClientClosedError);
});

// One server only: the proxy fronts one server (a cluster client would go around it).
test.if(onOneServer)(
  "close() while an enqueue waits to try again after a lost reply: said maybe done, not refused",
  async () => {
    const { proxy, url } = viaProxy();
    try {
      const q = await openQueue({
        prefix: testPrefix(),
        redisUrl: url,
        retryConnectS: 60,
        commandTimeoutMs: 300,
      });
      await q.enqueue("t", 1); // connected, layout read, script loaded
      proxy.hold(); // Redis slow: the next enqueue's reply does not come in time
      const enqueued = outcome(q.enqueue("t", 2));
      await until(() => proxy.heldChunks > 0, "the enqueue sent");
      // The try under way is let finish (commandTimeoutMs: no reply, its fate unknown); the
      // next, after the back-off, finds the Queue closed.
      const closing = q.close();
      expect(await enqueued).toMatch(/^LostReplyError\(.*\): .*may or may not/);
      proxy.release(); // Redis answers again: the close's own goodbye lands (not its 5 s bound)
      await closing;
    } finally {
      proxy.close();
    }
  },
);
