#!/usr/bin/env bun
// `bun run build`: one standalone executable, dist/courier, with Bun, every dependency and the
// Lua scripts inside. Its subcommands are the commands of bin/ (bin/courier.ts): one binary of
// ~100 MB instead of one per command, since each would carry a whole Bun runtime.
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { COMMAND_NAMES } from "../bin/courier.ts";

const root = resolve(import.meta.dir, "..");
const outfile = join(root, "dist", "courier");
const cmd = ["bun", "build", "--compile", "--minify", join(root, "bin", "courier.ts")];
const code = await Bun.spawn({
  cmd: [...cmd, "--outfile", outfile],
  stdout: "ignore",
  stderr: "inherit",
}).exited;
if (code !== 0) {
  process.stderr.write(`build: bin/courier.ts failed (exit ${code})\n`);
  process.exit(1);
}
// Earlier builds wrote one executable per command: they would now only be stale copies.
for (const old of ["trigger", "result", "worker", "info", "dead", "dashboard", "stack"]) {
  rmSync(join(root, "dist", old), { force: true });
}
const mb = (Bun.file(outfile).size / 1e6).toFixed(0);
process.stdout.write(`built dist/courier (${mb} MB): courier ${COMMAND_NAMES.join("|")}\n`);
