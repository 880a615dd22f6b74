// `trigger --file … --summary` stopped part-way by a full Redis: the batch is incomplete, so no
// callback is enqueued and stderr says so; with --id-from-url the same command run again finds
// the jobs already enqueued (the same ids), enqueues the rest, and adds the callback over all.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queueKeys } from "../lib/engine/keys.ts";
import { startSmallRedis } from "./fixtures/redis-small.ts";
import { pinShards, runCli, testPrefix } from "./helpers.ts";

// On a small Redis of the test's own (tests/fixtures/redis-small.ts), not on the cluster: its
// queue has one shard, whose keys the test reads.
pinShards(1);

const LINES = 2_000;
const lines = (text: string) => text.split("\n").filter(Boolean);

describe("a batch stopped part-way", () => {
  test("no callback, said on stderr; --id-from-url run again adds it over the whole file", async () => {
    await using small = await startSmallRedis(4);
    const dir = mkdtempSync(join(tmpdir(), "courier-batch-full-"));
    try {
      const file = join(dir, "urls.txt");
      const urls = Array.from({ length: LINES }, (_, i) => `https://example.org/page/${i}`);
      writeFileSync(file, `${urls.join("\n")}\n`);
      const prefix = testPrefix();
      const trigger = () =>
        runCli(
          "trigger",
          ["--prefix", prefix, "--file", file, "--summary", "--id-from-url", "--json"],
          { env: { REDIS_URL: small.url } },
        );
      await small.fill(600 * 1024); // room for some of the jobs, not all
      const first = await trigger();
      expect(first.code).toBe(7);
      const enqueued = lines(first.stdout).map((l) => JSON.parse(l));
      expect(enqueued.length).toBeGreaterThan(0);
      expect(enqueued.length).toBeLessThan(LINES);
      expect(enqueued.every((j) => j.callback === undefined)).toBe(true);
      expect(lines(first.stderr)).toContain(
        "trigger: the batch's callback was not enqueued; run the same command again for it (--id-from-url: no job is enqueued twice)",
      );
      const keys = queueKeys(prefix, "default");
      const streamed = async () => Number(await small.redis.sendCommand(["XLEN", keys.stream]));
      expect(await streamed()).toBe(enqueued.length); // no callback among them (nor waiting)

      await small.free();
      const again = await trigger();
      expect(again.stderr).toBe("");
      expect(again.code).toBe(0);
      const out = lines(again.stdout).map((l) => JSON.parse(l));
      const last = out.pop();
      expect(last).toEqual({
        callback: expect.any(String),
        task: "wordcount-summary",
        jobs: LINES,
        created: true,
      });
      expect(out.map((j) => j.url)).toEqual(urls);
      expect(out.filter((j) => !j.created).map((j) => j.id)).toEqual(enqueued.map((j) => j.id));
      expect(await streamed()).toBe(LINES); // every job once; the callback waits outside it
      const shown = await runCli("result", ["--prefix", prefix, last.callback, "--json"], {
        env: { REDIS_URL: small.url },
      });
      expect(JSON.parse(shown.stdout)).toMatchObject({ status: "waiting-for-parents" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("with --wait the ids are not printed, and the stopped line says so", async () => {
    await using small = await startSmallRedis(4);
    const urls = Array.from({ length: LINES }, (_, i) => `https://example.org/w/${i}`);
    await small.fill(600 * 1024);
    const r = await runCli(
      "trigger",
      ["--prefix", testPrefix(), "--file", "-", "--summary", "--id-from-url", "--wait", "5"],
      { env: { REDIS_URL: small.url }, stdin: `${urls.join("\n")}\n` },
    );
    expect(r.code).toBe(7);
    expect(r.stdout).toBe("");
    const line = lines(r.stderr).find((l) => l.startsWith("trigger: stopped at line"));
    expect(line).toContain("(ids not printed: --wait with --then/--summary)");
    expect(line).not.toContain("(ids printed)");
  }, 60_000);
});
