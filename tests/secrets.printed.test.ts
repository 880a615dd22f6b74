// A service that logs its Queue, Admin or Worker (console.log, util.inspect, JSON.stringify)
// logs no Redis password: the options print the URL masked, and the worker's connections keep
// theirs in a private field (s1: `console.log(queue)` printed `redis://user:pw@…`).
import { afterEach, describe, expect, test } from "bun:test";
import { inspect } from "node:util";
import { Admin, defineTask, Queue, Worker } from "../lib/index.ts";
import { aclUser, dropAclUsers } from "./fixtures/acl.ts";
import { testPrefix, testShards } from "./helpers.ts";

afterEach(dropAclUsers);

const PASSWORD = /pw-[a-z0-9]+/;

/** Each way a service may print an object: none shows the password. */
function expectNoPassword(value: unknown): void {
  const json = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v));
  for (const printed of [inspect(value, { depth: 8 }), Bun.inspect(value), json]) {
    expect(printed).not.toMatch(PASSWORD);
  }
}

describe("printed library objects", () => {
  test("a Queue, an Admin and a Worker print their Redis URL masked, and still read it whole", async () => {
    const prefix = testPrefix();
    const redisUrl = await aclUser("admin", prefix);
    const worker = await aclUser("worker", prefix);
    const shards = testShards();
    const o = { prefix, queue: "printed", ...(shards === undefined ? {} : { shards }) };
    const q = await Queue.connect({ ...o, redisUrl });
    const a = await Admin.connect({ ...o, redisUrl });
    const task = defineTask({ name: "noop", run: async () => null });
    const w = await Worker.start({ ...o, redisUrl: worker, tasks: [task] });
    try {
      for (const value of [q, a, w, q.options, w.options]) expectNoPassword(value);
      expect(inspect(q.options)).toContain(":***@");
      expect(JSON.parse(JSON.stringify(w.options)).redisUrl).toContain(":***@");
      // The property itself is the URL as given: a caller may connect with it.
      expect(q.options.redisUrl).toBe(redisUrl);
      expect(w.options.redisUrl).toBe(worker);
    } finally {
      await w.stop();
      await a.close();
      await q.close();
    }
  });
});
