// `cancel -`: ids read from standard input as they come, canceled a chunk at a time
// (lib/cli/cancel-input.ts), so a long list holds bounded memory and its first lines are
// answered before its end is read; a line that is no job id is reported with its line number
// while the others are canceled, and the run exits 2 at the end. An id of another queue is said
// to be perhaps there.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { CANCEL_CHUNK, idChunks } from "../lib/cli/cancel-input.ts";
import { openQueue, redisUrl, runCli, testPrefix, testShards } from "./helpers.ts";

const RULE = "(1-128 letters, digits and _ . : -)";

describe("cancel - (ids on standard input)", () => {
  test("a line that is no job id: reported with its number, the others canceled, exit 2", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const a = await q.enqueue("t", null);
    const b = await q.enqueue("t", null);
    const r = await runCli("cancel", ["--prefix", prefix, "-"], {
      stdin: `${a}\nbad id\n\n${b}\n${"x".repeat(200)}!\n`,
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(`${a}: canceled (was queued)\n${b}: canceled (was queued)\n`);
    expect(r.stderr).toBe(
      `cancel: line 2: "bad id" is not a job id ${RULE}\n` +
        `cancel: line 5: "${"x".repeat(80)}…" is not a job id ${RULE}\n`,
    );
    expect((await q.getJob(a))?.status).toBe("canceled");
  });

  test("the first chunk is canceled before the input ends", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const ids = (
      await q.enqueueMany(Array.from({ length: CANCEL_CHUNK }, () => ({ task: "t" })))
    ).map((j) => j.id);
    const proc = Bun.spawn({
      cmd: [
        process.execPath,
        resolve(import.meta.dir, "../bin/cancel.ts"),
        "--prefix",
        prefix,
        "-",
      ],
      env: {
        ...process.env,
        REDIS_URL: redisUrl(),
        ...(testShards() === undefined ? {} : { COURIER_SHARDS: String(testShards()) }),
      },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = proc.stdout.getReader();
    const decoder = new TextDecoder();
    let out = "";
    const more = async () => {
      const { value, done } = await reader.read();
      out += decoder.decode(value, { stream: true });
      return !done;
    };
    // Killed if nothing comes while the input is open: the read then ends, and the test fails.
    const stuck = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    try {
      proc.stdin.write(`${ids.join("\n")}\n`);
      await proc.stdin.flush();
      // The input is still open: only a chunked reader has canceled anything yet.
      while (!out.includes("\n") && (await more()));
      expect(out.split("\n")[0]).toBe(`${ids[0]}: canceled (was queued)`);
      expect((await q.getJob(ids.at(-1)!))?.status).toBe("canceled");
      proc.stdin.write("unknown-1\n");
      proc.stdin.end();
      while (await more());
      expect(await proc.exited).toBe(4);
      expect(out.trim().split("\n")).toHaveLength(CANCEL_CHUNK);
      expect(await new Response(proc.stderr).text()).toStartWith("cancel: unknown-1: no such job");
    } finally {
      clearTimeout(stuck);
      proc.kill("SIGKILL");
    }
  });
});

test("cancel - with nothing on standard input: one line saying so, exit 2, Redis not asked", async () => {
  // As `trigger --file -` answers empty input ("no URLs in standard input"): the user gave `-`,
  // so "give the job ids … (or - to read them from stdin)" told them to do what they did.
  for (const stdin of ["", "\n  \n\n"]) {
    const r = await runCli("cancel", ["-"], { stdin, env: { REDIS_URL: "redis://127.0.0.1:1" } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "cancel: no job ids on standard input\nRun with --help to see the options.\n",
    );
  }
});

test("an id of no job of this queue: it may be in another queue (--queue)", async () => {
  const prefix = testPrefix();
  await using other = await openQueue({ prefix, queue: "other" });
  const id = await other.enqueue("t", null);
  const r = await runCli("cancel", ["--prefix", prefix, id]);
  expect(r.code).toBe(4);
  expect(r.stderr).toBe(
    `cancel: ${id}: no such job in queue "default" (prefix ${prefix}): unknown id, or its record has expired, or it is in another queue (--queue)\n`,
  );
  expect((await other.getJob(id))?.status).toBe("queued");
});

test("idChunks: the command line's ids checked first; chunks of at most `size` lines", async () => {
  await expect(idChunks(["ok-1", "a b"])).rejects.toThrow('"a b" is not a job id');
  await expect(idChunks([])).rejects.toThrow("give the job ids");
  const chunks = [];
  for await (const c of await idChunks(["k-1", "k-2", "k-3", "k-4", "k-5"], 2)) chunks.push(c);
  expect(chunks.map((c) => c.ids)).toEqual([["k-1", "k-2"], ["k-3", "k-4"], ["k-5"]]);
});
