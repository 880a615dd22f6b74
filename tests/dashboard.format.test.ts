// A queue whose data format is another Courier's: the dashboard answers its refusal (409, the
// refusal's own line), never "503 Redis unavailable" (it matched the error's class name).
import { afterEach, expect, test } from "bun:test";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { oneShardFile, openQueue, redisUrl, testPrefix } from "./helpers.ts";

oneShardFile(); // the meta key written is a one-shard queue's

const TOKEN = "s3cret-test-token-0190";
const REFUSAL =
  'queue "default" has data format 999, this Courier reads format 2: upgrade Courier (or use another --queue/--prefix)';
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

test("trigger into a queue of another format: 409 with the refusal's line", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
  running.push(d);
  await q.client.sendCommand(["HSET", queueKeys(prefix, "default").meta, "format", "999"]);
  const res = await fetch(`${d.url}/api/trigger`, {
    method: "POST",
    headers: { "x-courier-token": TOKEN, "content-type": "application/json" },
    body: JSON.stringify({ url: "https://example.org/" }),
  });
  expect({ status: res.status, body: await res.json() }).toEqual({
    status: 409,
    body: { error: REFUSAL },
  });
});
