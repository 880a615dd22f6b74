// A worker stopping while its read loop backs off after a failed read (Redis away or busy) ends
// that wait at once: the back-off may be reconnectMaxMs long, and stop() (SIGTERM) must not sit
// it out. Redis is made unavailable deterministically: a script that never ends holds it, so
// every other command is answered BUSY until the script is killed.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queueKeys } from "../lib/engine/keys.ts";
import { resolveOptions } from "../lib/options.ts";
import { destroy } from "../lib/redis/close.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { ensureGroup } from "../lib/worker/entries.ts";
import { Lanes } from "../lib/worker/loops.ts";
import { Jobs } from "../lib/worker/running.ts";
import { Source } from "../lib/worker/take.ts";
import { logRecorder, testPrefix, until } from "./helpers.ts";

let server: RedisServer | null = null;
const clients: Redis[] = [];
const dataDir = mkdtempSync(join(tmpdir(), "courier-backoff-"));

afterEach(async () => {
  for (const c of clients.splice(0)) destroy(c);
  server?.kill();
  await server?.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

/** Far longer than the test may take: only the stop can end it. */
const BACK_OFF_MS = 600_000;

test("a read loop backing off after a failed read ends its wait when the worker stops", async () => {
  server = await startRedisServer({ port: await findFreePort(), dataDir, persistence: false });
  const o = resolveOptions({ redisUrl: server.url, prefix: testPrefix(), concurrency: 1 });
  const keys = queueKeys(o.prefix, o.queue);
  const open = async () => {
    const c = await connect(o.redisUrl, { persistent: true });
    clients.push(c);
    return c;
  };
  const [client, reader, hog] = [await open(), await open(), await open()];
  await ensureGroup(client, keys);
  // Other clients are answered BUSY once the script has run 1 ms.
  await client.sendCommand(["CONFIG", "SET", "lua-time-limit", "1"]);
  void hog.sendCommand(["EVAL", "while true do end", "0"]).catch(() => {});
  await until(
    () =>
      client.sendCommand(["PING"]).then(
        () => false,
        (e: Error) => /^BUSY/.test(e.message),
      ),
    "Redis to answer BUSY",
  );

  const log = logRecorder();
  let stopping = false;
  const jobs = new Jobs(
    () => [client],
    keys,
    o,
    new Map(),
    log,
    () => {},
  );
  const links = { client: () => client, reader: () => reader };
  const source = new Source(
    { o, keys, tasks: new Set(), compact: () => false },
    links,
    log,
    () => {},
    () => stopping,
  );
  const lanes = new Lanes({
    ...{ o, keys, jobs, source, log, client: () => client },
    start: "",
    stopping: () => stopping,
    take: (n) => n,
    refused: () => false,
    retryMs: () => BACK_OFF_MS,
  });
  const ended = lanes.run([{ client: () => client, stalled: () => {} }]);
  await until(() => log.events().includes("read failed, retrying"), "the read to fail");
  const failed = log.records.find((r) => r.event === "read failed, retrying")!;
  expect(failed.fields).toMatchObject({ retryInMs: BACK_OFF_MS });
  expect(String(failed.fields.error)).toStartWith("BUSY");

  // What Worker.stop() does first: mark it stopping, wake the loops.
  stopping = true;
  lanes.wake();
  await ended; // with the back-off sat out, this would wait ten minutes (the test fails first)
  expect(log.events().filter((e) => e === "read failed, retrying")).toHaveLength(1);
  jobs.close();
});
