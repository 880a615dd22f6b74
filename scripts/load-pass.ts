#!/usr/bin/env bun
// `bun run test:load`: the tests that are load work rather than a guarantee's check, kept out of
// `npm test` so the suite stays within minutes on 2 cores: the benchmark's workloads run once
// at the tiny size, the short chaos runs (workers SIGKILLed, Redis restarted, a cluster master
// killed). They are `tests/load/*.load.ts`, a name `bun test` does not pick up on its own; this
// runs them all (or those named), one at a time, with the same preload as the suite.
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const all = readdirSync(join(root, "tests", "load"))
  .filter((f) => f.endsWith(".load.ts"))
  .sort()
  .map((f) => `./tests/load/${f}`);
const args = process.argv.slice(2);
const named = all.filter((f) => args.some((a) => resolve(root, a) === resolve(root, f)));
const rest = args.filter((a) => !all.some((f) => resolve(root, a) === resolve(root, f)));
// Each runs a whole workload or chaos run: 120 s, not the suite's 30 s.
const cmd = ["bun", "test", "--timeout", "120000", ...rest, ...(named.length ? named : all)];
process.stdout.write(`== load tests: ${cmd.join(" ")}\n`);
const proc = Bun.spawn({ cmd, cwd: root, stdout: "inherit", stderr: "inherit" });
process.exit(await proc.exited);
