// `trigger --file` gives each word-count job its URL's host as limit key (the entry's `k`, which
// the worker's rate limits read), from the one parse that normalises the line; a host too long
// to be a limit key refuses its own line (one line on stderr, exit 2), not the batch around it.
import { expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shardKeys } from "../lib/engine/keys.ts";
import { rawRedis, runCli, testPrefix, testShards } from "./helpers.ts";

test("each job's `k` is its host; a host too long for a key refuses its line only", async () => {
  const prefix = testPrefix();
  const long = `https://${"a".repeat(300)}.org/`;
  const lines = ["https://Pages.Example:8080/one", long, "http://[2001:DB8::1]/two", "bücher.de"];
  const file = join(tmpdir(), `courier-limit-key-${process.pid}-${Date.now()}.txt`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  try {
    const out = await runCli("trigger", ["--prefix", prefix, "--queue", "q", "--file", file]);
    expect(out.code).toBe(2); // a line was refused
    expect(out.stderr).toBe(
      `trigger: line 2: invalid URL "${long.slice(0, 77)}...": its host cannot be a limit key (limitKey must be 1 to 256 bytes, got 304)\n`,
    );
    expect(out.stdout.trim().split("\n")).toHaveLength(3);
    await using r = await rawRedis();
    const keys: string[] = [];
    for (const k of shardKeys(prefix, "q", testShards() ?? 1)) {
      const entries = (await r.sendCommand(["XRANGE", k.stream, "-", "+"])) as [string, string[]][];
      for (const [, fields] of entries) keys.push(fields[fields.indexOf("k") + 1]!);
    }
    expect(keys.sort()).toEqual(["[2001:db8::1]", "pages.example:8080", "xn--bcher-kva.de"]);
  } finally {
    rmSync(file, { force: true });
  }
});
