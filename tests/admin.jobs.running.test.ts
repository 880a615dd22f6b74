// `jobs --state running` newest first (lib/admin/job-states.ts): the pending list has no
// reverse order, so the page is read downwards from the group's last delivery. With more
// pending entries than any fixed window (10,050 here), the newest still come first, and the
// pages go on downwards.
import { expect, test } from "bun:test";
import { decodeJobsCursor, listJobs } from "../lib/admin/jobs.ts";
import { GROUP, queueKeys } from "../lib/engine/keys.ts";
import { oneShardFile, rawRedis, testPrefix } from "./helpers.ts";

// One shard's keys, written by hand.
oneShardFile();

test("running, newest first, with 10,050 pending: the newest first, page after page", async () => {
  await using r = await rawRedis();
  const k = queueKeys(testPrefix(), "q");
  const total = 10_050;
  const fields = ["t", "x", "p", "{}", "a", "0", "m", "3"];
  for (let i = 0; i < total; i += 1_000) {
    const upTo = Math.min(total, i + 1_000);
    const adds = [];
    for (let j = i; j < upTo; j++)
      adds.push(r.sendCommand(["XADD", k.stream, `1-${j + 1}`, ...fields]));
    await Promise.all(adds);
  }
  await r.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0"]);
  const read = ["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", String(total), "STREAMS", k.stream];
  await r.sendCommand([...read, ">"]);
  const first = await listJobs(r as never, [k], { state: "running", limit: 3 }, null);
  expect(first.jobs.map((j) => j.id)).toEqual([`1-${total}`, `1-${total - 1}`, `1-${total - 2}`]);
  expect(first.jobs.every((j) => j.worker === "w1")).toBe(true);
  const at = decodeJobsCursor(first.next!, { state: "running", oldest: false }, 1);
  const second = await listJobs(r as never, [k], { state: "running", limit: 2 }, at);
  expect(second.jobs.map((j) => j.id)).toEqual([`1-${total - 3}`, `1-${total - 4}`]);
}, 60_000);
