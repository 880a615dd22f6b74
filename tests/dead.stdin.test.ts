// `dead requeue -` and `dead delete -`: ids read from standard input, one a line, as `cancel -`
// reads them (bin/_dead-answers.ts), never `-` taken for a job id. A line that is no job id is
// said with its number while the others are done, exit 2 at the end; an empty input exits 2.
import { describe, expect, test } from "bun:test";
import { asClient, runJob } from "./fixtures/engine.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, runCli, testPrefix } from "./helpers.ts";

const RULE = "(1-128 letters, digits and _ . : -)";

/** `n` jobs failed for good (dead letters), planted without a worker. */
async function deadJobs(prefix: string, n: number): Promise<string[]> {
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await q.enqueue("t", i);
    await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", error: "boom", retry: false }]);
    ids.push(id);
  }
  return ids;
}

describe("dead requeue|delete - (ids on standard input)", () => {
  test("requeue -: each id requeued, a bad line said with its number, exit 2", async () => {
    const prefix = testPrefix();
    const [a, b] = await deadJobs(prefix, 2);
    const stdin = `${a}\nbad id\n\n${b}\n`;
    const r = await runCli("dead", ["requeue", "-", "--prefix", prefix], { stdin });
    expect(r.stderr).toBe(`dead: line 2: "bad id" is not a job id ${RULE}\n`);
    expect(r.stdout).toBe(`${a}\n${b}\n`);
    expect(r.code).toBe(2);
    await using q = await openQueue({ prefix });
    expect((await q.getJob(a!))?.status).toBe("queued");
  });

  test("delete - --json: one line per id; an unknown one exits 4", async () => {
    const prefix = testPrefix();
    const [a] = await deadJobs(prefix, 1);
    const stdin = `${a}\nnope\n`;
    const r = await runCli("dead", ["delete", "-", "--json", "--prefix", prefix], { stdin });
    expect(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { id: a, deleted: true },
      { id: "nope", deleted: false },
    ]);
    expect(r.code).toBe(4);
  });

  test("an empty standard input: one line, exit 2", async () => {
    const r = await runCli("dead", ["requeue", "-", "--prefix", testPrefix()], { stdin: "" });
    expect(r.stderr).toBe(
      "dead: no job ids on standard input\nRun with --help to see the options.\n",
    );
    expect(r.code).toBe(2);
  });
});
