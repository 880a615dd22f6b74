// Corrupt input shown and refused honestly: a buried entry whose `a` is not a number gives a
// letter whose attempts show as a dash (never NaN), and a caller id that is not a string is
// refused before anything is sent.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { listDead } from "../lib/admin/letters.ts";
import { formatDeadLetter, formatDeadPage, letterJson } from "../lib/cli/dead.ts";
import { buryEntries } from "../lib/engine/bury.ts";
import { parseEntry } from "../lib/engine/entry.ts";
import { InputError } from "../lib/errors.ts";
import { prepareJob } from "../lib/queue/prepare.ts";
import { deliver, engineQueue } from "./fixtures/plant.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

const O = { consumer: "w1", failureTtlS: 900, deadMaxLen: 1000, eventsMaxLen: 1000 };

describe("a letter whose attempts is not a number", () => {
  test("dead list and dead show print a dash, the JSON null", async () => {
    await using v = await engineQueue();
    const fields = ["t", "echo", "p", "{}", "a", "x", "m", "3"];
    const entry = String(await v.r.sendCommand(["XADD", v.k.stream, "*", ...fields]));
    await deliver(v, "w1");
    const check = parseEntry(entry, fields);
    expect(check).toMatchObject({ ok: false, problem: "attempt count is not a number" });
    await buryEntries(v.client, v.k, O, [
      { entryId: entry, id: entry, problem: "attempt count is not a number" },
    ]);
    const page = await listDead(v.client, v.k, null, 10);
    const [letter] = page.letters;
    expect(letter!.attempts).toBeNull();
    const list = formatDeadPage(page, Date.now());
    expect(list).not.toContain("NaN");
    expect(list.split("\n")[1]).toMatch(new RegExp(`^${entry}\\s+echo\\s+-\\s+`));
    const show = formatDeadLetter(letter!, null);
    expect(show).toMatch(/^attempts:\s+-$/m);
    expect(letterJson(letter!).attempts).toBeNull();
  });
});

describe("a caller id that is not a string", () => {
  test.each([123, 1.5, true, null])("id %p is refused with InputError", (id) => {
    const spec = { task: "echo", payload: {}, id: id as unknown as string };
    expect(() => prepareJob(spec, { maxAttempts: 3 })).toThrow(InputError);
    expect(() => prepareJob(spec, { maxAttempts: 3 })).toThrow(/job id must be a string/);
  });
});

describe("a letter with a field given twice (a hand edit)", () => {
  test("listed by its last id, the one requeue and delete act on, as the scripts read it", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await q.enqueue("echo", null); // the queue's layout recorded (6 shards in the cluster pass)
    await using r = await rawRedis();
    const letter = ["id", "first", "task", "echo", "error", "e", "attempts", "1", "payload", "1"];
    const k = keysOf(q, "last");
    await r.sendCommand(["XADD", k.dead, "*", ...letter, "max_attempts", "3", "id", "last"]);
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      expect((await admin.deadLetters()).letters.map((l) => l.id)).toEqual(["last"]);
      expect((await admin.requeue(["last"])).map((x) => x.verdict)).toEqual(["requeued"]);
      expect(await q.getJob("last")).toMatchObject({ status: "queued", task: "echo" });
    } finally {
      await admin.close();
    }
  });
});
