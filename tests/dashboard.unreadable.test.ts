// One key of the wrong type under a queue (a hand edit, another program) no longer fails the
// whole page: the dashboard's live snapshot sends the part that key feeds as `{ unreadable }`,
// naming the key, and the other parts as usual; a read endpoint of that part is a 409 naming
// it (not a 500); /metrics leaves that part's families out, says why in a comment line, and
// counts it in courier_queue_unreadable.
import { afterEach, expect, test } from "bun:test";
import { QueueShards } from "../lib/admin/queue-shards.ts";
import { unreadableLine } from "../lib/admin/unreadable-keys.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { queueKeys, scheduleKeys } from "../lib/engine/keys.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { firstSnapshot } from "./fixtures/dashboard.ts";
import { oneShardFile, openQueue, redisUrl, testPrefix } from "./helpers.ts";

oneShardFile(); // the keys corrupted are a one-shard queue's

const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

/** A queue with a job, `key` of it made a string, and a dashboard on it. */
async function corrupted(key: "stats" | "workers" | "events" | "durations") {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  const k = queueKeys(prefix, "default")[key];
  await q.client.sendCommand(["DEL", k]);
  await q.client.sendCommand(["SET", k, "not Courier's"]);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  running.push(d);
  const why = `queue default cannot be read: key ${k} holds a string where Courier keeps a`;
  return { d: Object.assign(d, { prefix }), k, why };
}

test.each([
  ["stats", "overview", "/api/overview"],
  ["workers", "workers", "/api/workers"],
  ["events", "failures", "/api/failures"],
] as const)(
  "a %s key of another type: the snapshot's %s unreadable, the rest sent; %s 409",
  async (key, part, path) => {
    const { d, why } = await corrupted(key);
    const { data } = await firstSnapshot(`${d.url}/api/events`);
    expect(Object.keys(data[part])).toEqual(["unreadable"]);
    expect(data[part].unreadable).toStartWith(why);
    for (const other of ["overview", "workers", "failures", "schedules", "limits"]) {
      if (other !== part) expect(data[other].unreadable).toBeUndefined();
    }
    const res = await fetch(d.url + path);
    expect(res.status).toBe(409);
    expect((await res.json()).error).toStartWith(why);
  },
);

test("the snapshot says whether actions are on whatever part is unreadable", async () => {
  const { d } = await corrupted("stats"); // no token: off
  expect((await firstSnapshot(`${d.url}/api/events`)).data.actions).toBe(false);
  const on = await startDashboard({
    redisUrl: redisUrl(),
    prefix: d.prefix,
    port: 0,
    token: "unreadable-test-token-0001",
  });
  running.push(on);
  const { data } = await firstSnapshot(`${on.url}/api/events`);
  expect(Object.keys(data.overview)).toEqual(["unreadable"]);
  expect(data.actions).toBe(true);
});

test.each([
  ["stats", "counts, shards and paused", "courier_jobs_waiting{", "courier_workers_live{"],
  ["workers", "workers", "courier_workers_live{", "courier_jobs_waiting{"],
  ["durations", "durations", "courier_job_duration_seconds_count{", "courier_jobs_waiting{"],
] as const)(
  "/metrics with a %s key of another type: %s left out, said why; the rest served",
  async (key, part, gone, kept) => {
    const { d, why } = await corrupted(key);
    const res = await fetch(`${d.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(gone);
    expect(text).toContain(kept);
    expect(text).toContain(`# ${part} left out: ${why}`);
    expect(text).toContain('courier_queue_unreadable{queue="default"} 1');
  },
);

test("/metrics of a sound queue: courier_queue_unreadable 0", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  running.push(d);
  const text = await (await fetch(`${d.url}/metrics`)).text();
  expect(text).toContain('courier_queue_unreadable{queue="default"} 0');
  expect(text).not.toMatch(/^# [a-z ,]+ left out:/m);
});

// Every key the check names is read as the type Courier writes it: the `canceled` stream (a
// cancel's) was taken for a sorted set, so any refusal whose key had been mended meanwhile was
// said to be `canceled`'s, a key that was sound.
test("a queue with cancels and no key of another type: no key named", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("t", null);
  expect((await q.cancel([id]))[0]).toMatchObject({ verdict: "canceled" });
  const line = await unreadableLine(new QueueShards(q.client, prefix, "default"));
  expect(line).toBe("queue default: a key held another type than Courier writes; read again");
});

// The queue's schedules index of another type: the panel's part was sent as no schedules at
// all (`{ total: 0 }`), the page silent; now `{ unreadable }` naming the key, as the others.
test("the schedules' index of another type: the snapshot's schedules unreadable, the rest sent", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  await new Schedules(q.client, prefix).add({ name: "s1", every: "1h", task: "t" });
  const key = scheduleKeys(prefix).names("default");
  await q.client.sendCommand(["DEL", key]);
  await q.client.sendCommand(["SET", key, "not Courier's"]);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  running.push(d);
  const { data } = await firstSnapshot(`${d.url}/api/events`);
  expect(data.schedules).toEqual({
    unreadable: `queue default cannot be read: key ${key} holds a string where Courier keeps a zset; another program uses these keys: give Courier its own --prefix, or delete that key`,
  });
  for (const other of ["overview", "workers", "failures", "limits"]) {
    expect(data[other].unreadable).toBeUndefined();
  }
});
