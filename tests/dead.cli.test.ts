// `bin/dead.ts` as operators run it: list, show, requeue, delete, purge, and the mistakes that must
// fail with one line and the documented exit code.
import { describe, expect, test } from "bun:test";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import {
  oneShardFile,
  onOneServer,
  openQueue,
  rawRedis,
  runCli,
  startWorker,
  testPrefix,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

const fails = defineTask({
  name: "fails",
  run: async (p: { n: number }) => {
    throw new PermanentError(`no luck for ${p.n}\nsecond line`);
  },
});

async function killJobs(prefix: string, n: number): Promise<string[]> {
  await using q = await openQueue({ prefix });
  const w = await startWorker({ prefix, tasks: [fails] });
  const jobs = await q.enqueueMany(
    Array.from({ length: n }, (_, i) => ({ task: "fails", payload: { n: i } })),
  );
  const ids = jobs.map((j) => j.id);
  await q.waitForJobs(ids, { timeoutMs: 5_000 });
  await w.stop();
  return ids;
}

const dead = (prefix: string, ...args: string[]) => runCli("dead", [...args, "--prefix", prefix]);

describe("bin/dead.ts", () => {
  test("list and show, as text and JSON", async () => {
    const prefix = testPrefix();
    const ids = await killJobs(prefix, 3);
    const list = await dead(prefix, "list");
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^ID +TASK +ATTEMPTS +DIED +ERROR$/);
    expect(rows.slice(1).map((r) => r.split(" ")[0])).toEqual([...ids].reverse());
    expect(rows[1]).toMatch(/ fails +1 +\d+s ago +no luck for 2 second line$/);

    const limited = await dead(prefix, "list", "--limit", "1", "--json");
    const page = JSON.parse(limited.stdout);
    expect(page.total).toBe(3);
    expect(page.letters).toEqual([
      expect.objectContaining({ id: ids[2], task: "fails", attempts: 1, payload: { n: 2 } }),
    ]);

    const show = await dead(prefix, "show", ids[0]!);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^id: +${ids[0]}$`, "m"));
    expect(show.stdout).toMatch(/^payload: +\{"n":0\}$/m);
    expect(show.stdout).toMatch(/^history:\n {2}#1 {2}worker \S+ .* failed: no luck for 0/m);
    const json = JSON.parse((await dead(prefix, "show", ids[0]!, "--json")).stdout);
    expect(json).toMatchObject({
      id: ids[0],
      job: { status: "failed" },
      history: [{ attempt: 1 }],
    });
  });

  test("requeue by id, then --all; unknown ids exit 4 with one line each", async () => {
    const prefix = testPrefix();
    const ids = await killJobs(prefix, 3);
    await using r = await rawRedis();
    await using q = await openQueue({ prefix });
    const one = await dead(prefix, "requeue", ids[0]!, "nope");
    expect(one.code).toBe(4);
    expect(one.stdout).toBe(`${ids[0]}\n`);
    expect(one.stderr).toBe("dead: nope: no dead letter for this job\n");
    expect(await q.getJob(ids[0]!)).toMatchObject({ status: "queued", attempts: 0 });

    const all = await dead(prefix, "requeue", "--all");
    expect(all).toMatchObject({ code: 0, stdout: "requeued 2 dead jobs\n", stderr: "" });
    expect(Number(await r.sendCommand(["XLEN", q.keys.dead]))).toBe(0);
    expect(Number(await r.sendCommand(["XLEN", q.keys.stream]))).toBe(3);
  });

  test("delete by id: letter, outcome and record gone; unknown ids exit 4 with one line each", async () => {
    const prefix = testPrefix();
    const ids = await killJobs(prefix, 2);
    await using r = await rawRedis();
    await using q = await openQueue({ prefix });
    const one = await dead(prefix, "delete", ids[0]!, "nope");
    expect(one).toMatchObject({ code: 4, stdout: `${ids[0]}\n` });
    expect(one.stderr).toBe("dead: nope: no dead letter for this job\n");
    expect(await q.getJob(ids[0]!)).toBeNull();
    expect(Number(await r.sendCommand(["XLEN", q.keys.dead]))).toBe(1);
    const json = await dead(prefix, "delete", ids[1]!, "--json");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ id: ids[1], deleted: true });
    expect(Number(await r.sendCommand(["XLEN", q.keys.dead]))).toBe(0);
    const bare = await dead(prefix, "delete");
    expect(bare).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^dead: delete takes job ids\n/),
    });
  });

  test("delete ID ID: the job is deleted once, said once, exit 0", async () => {
    const prefix = testPrefix();
    const [id] = await killJobs(prefix, 1);
    const r = await dead(prefix, "delete", id!, id!);
    expect(r).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: "" });
  });

  // Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer)(
    "run through courier, a command's --help names courier: USAGE courier dead list",
    async () => {
      const help = await runCli("courier", ["dead", "list", "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("USAGE courier dead list [OPTIONS]");
      expect(help.stdout).toContain("(courier dead list)");
      const own = await runCli("courier", ["dead", "--help"]);
      expect(own.stdout).toContain("USAGE courier dead list|show|requeue|delete|purge");
    },
  );

  test("requeue ID ID: the job is requeued once, said once, exit 0", async () => {
    const prefix = testPrefix();
    const [id] = await killJobs(prefix, 1);
    await using q = await openQueue({ prefix });
    const twice = await dead(prefix, "requeue", id!, id!);
    expect(twice).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: "" });
    expect(await q.getJob(id!)).toMatchObject({ status: "queued", attempts: 0 });
  });

  test("options given before the command reach it; each command has its own --help", async () => {
    const prefix = testPrefix();
    await killJobs(prefix, 1);
    const before = await runCli("dead", ["--prefix", prefix, "--json", "list"]);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout).total).toBe(1);
    const help = await runCli("dead", ["purge", "--help"]);
    expect(help.stdout).toContain("USAGE dead purge [OPTIONS]");
    expect(help.stdout).toContain("--older-than");
    expect(help.stdout).not.toContain("--limit");
  });

  // Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer).each([
    ["list", ["--limit", "--json"], ["--all", "--older-than"]],
    ["show", ["ID", "--json"], ["--all", "--limit"]],
    ["requeue", ["IDS", "--all", "--json"], ["--older-than", "--limit"]],
    ["purge", ["--older-than", "--all", "--json"], ["--limit"]],
    ["delete", ["IDS", "--json"], ["--all", "--older-than", "--limit"]],
  ])("dead %s --help names its own options, and only those", async (name, has, lacks) => {
    const help = await runCli("dead", [name, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`USAGE dead ${name}`);
    for (const option of has) expect(help.stdout).toContain(option);
    for (const option of lacks) expect(help.stdout).not.toContain(option);
  });

  test("purge, all or by age", async () => {
    const prefix = testPrefix();
    await killJobs(prefix, 2);
    const young = await dead(prefix, "purge", "--older-than", "1h");
    expect(young).toMatchObject({ code: 0, stdout: "purged 0 dead letters older than 1h\n" });
    const bare = await dead(prefix, "purge");
    expect(bare.code).toBe(2);
    expect(bare.stderr).toStartWith("dead: purge takes --older-than DURATION, or --all");
    const all = await dead(prefix, "purge", "--all", "--json");
    expect(JSON.parse(all.stdout)).toEqual({ purged: 2 });
  });

  const exits: [string[], number, RegExp][] = [
    [["show"], 2, /^dead: Missing required positional argument: ID\n/],
    [["show", "a", "b"], 2, /^dead: show takes one job id\n/],
    [["show", "unknown-id"], 4, /^dead: no dead letter for job unknown-id\n$/],
    [["requeue"], 2, /^dead: requeue takes job ids, or --all\n/],
    [["requeue", "x", "--all"], 2, /^dead: requeue takes job ids or --all, not both\n/],
    [["purge", "--older-than", "7 days"], 2, /^dead: "7 days" is not a duration/],
    [["purge"], 2, /^dead: purge takes --older-than DURATION, or --all /],
    [["purge", "--older-than", "0s"], 2, /^dead: --older-than 0s is every dead letter: say --all/],
    [["purge", "--older-than", "0"], 2, /^dead: --older-than 0 is every dead letter: say --all/],
    [["purge", "--older-than", "0d0ms"], 2, /^dead: --older-than 0d0ms is every dead letter/],
    [["list", "--limit", "1e2"], 2, /^dead: --limit must be a whole number from 1 to 500/],
    [["list", "--limit", "0x10"], 2, /^dead: --limit must be a whole number from 1 to 500/],
    [
      ["purge", "--all", "--older-than", "1h"],
      2,
      /^dead: purge takes --older-than DURATION or --all, not both\n/,
    ],
    [["bury"], 2, /^dead: unknown command "bury": use list, show, requeue, delete, purge\n/],
    [[], 2, /^dead: give a command: list, show, requeue, delete, purge\n/],
    [["list", "--limt", "3"], 2, /^dead: unknown option --limt \(did you mean --limit\?\)\n/],
  ];
  // Exit 2 is refused before Redis: in the cluster pass only the one that reaches it (exit 4),
  // and in the first the others in this process (runUsage: the same runCli), but the first.
  const first = JSON.stringify(exits[0]![0]);
  const inProcess = (args: string[], code: number) => code === 2 && JSON.stringify(args) !== first;
  test.each(onOneServer ? exits : exits.filter(([, code]) => code !== 2))(
    "%j exits %d",
    async (args, code, message) => {
      const result = inProcess(args, code)
        ? await runUsage("dead", [...args, "--prefix", testPrefix()])
        : await dead(testPrefix(), ...args);
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe("");
    },
  );
});
