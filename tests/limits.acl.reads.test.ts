// The README's ACL rules cover the limiter's bounded reads (docs/internals.md, "Rate limits"):
// the worker's limit.lua looks at the gaps around a time (ZREVRANGEBYSCORE, ZRANGEBYSCORE with
// LIMIT), the admin's key rate change takes held jobs a page at a time (ZREMRANGEBYRANK) from each key's
// snapshot (RENAME; ZUNIONSTORE, PTTL, PEXPIRE for one a stopped wake left).
import { afterEach, expect, test } from "bun:test";
import { limitKeys } from "../lib/engine/keys.ts";
import { reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { takeRateHeld, wakeStart } from "../lib/engine/rate-held.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { aclUser, dropAclUsers } from "./fixtures/acl.ts";
import { rawRedis, testPrefix } from "./helpers.ts";

afterEach(dropAclUsers);

test("the worker's rules read the gaps, the admin's take a page of held jobs", async () => {
  const prefix = testPrefix();
  const lk = limitKeys(prefix, "q");
  await using r = await rawRedis();
  const rate = { count: 10, perMs: 1000 };
  await writeLimits(r as unknown as Redis, prefix, "q", { rate });
  const [s] = (await r.sendCommand(["TIME"])) as [string];
  const at = Number(s) * 1000 + 60_000;
  await r.sendCommand(["ZADD", lk.gaps, String(at), `${at}.000|${at + 100}.000`]);
  await r.sendCommand(["ZADD", lk.keys, String(at), "h"]); // held till then: listed
  await r.sendCommand(["ZADD", lk.rateHeld("h"), String(at), "0|j1"]);
  const worker = await connect(await aclUser("worker", prefix));
  try {
    const o = { horizonMs: 120_000, shard: 0 };
    const got = await reserveSlots(worker, lk, o, [{ jobId: "a", slotMs: 60_000 }]);
    expect(got[0]?.kind).toBe("start");
  } finally {
    await worker.close();
  }
  const admin = await connect(await aclUser("admin", prefix));
  try {
    expect(await takeRateHeld(admin, lk, wakeStart(), 200, 1000)).toEqual({
      next: null,
      members: ["0|j1"],
      unreadable: [],
    });
    // A wake that stopped between pages left a waking copy: the next one pages it out (a job
    // past its due time dropped), then takes the new holds.
    await r.sendCommand(["ZADD", lk.rateWaking("h"), String(at), "0|j2", "1", "0|gone"]);
    await r.sendCommand(["ZADD", lk.rateHeld("h"), String(at), "0|j3"]);
    const again = await takeRateHeld(admin, lk, wakeStart(), 200, 1000);
    expect(again.members.sort()).toEqual(["0|j2", "0|j3"]);
  } finally {
    await admin.close();
  }
});
