// `bun build --compile bin/stack.ts` makes an executable of the stack alone: it has no `worker`
// or `dashboard` subcommand to run its children as (only `bun run build`'s dist/courier has).
// It started Redis, printed "ready" with lines to try (`<it> trigger …`, which it cannot do),
// and its workers died on `stack: unexpected argument "worker"`. It is refused before anything
// starts, in one line naming the build that works.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort, isPortFree } from "../lib/stack/redis-server.ts";
import { exitCodeWithin } from "./fixtures/output.ts";
import { ROOT, runProcess } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "courier-stack-alone-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a stack compiled alone refuses to start, one line, exit 2, no Redis started", async () => {
  const exe = join(dir, "stack");
  const build = await runProcess([
    ...["bun", "build", "--compile", join(ROOT, "bin", "stack.ts")],
    ...["--outfile", exe],
  ]);
  expect(build.code).toBe(0);
  const port = await findFreePort();
  const proc = Bun.spawn([exe, "--redis-port", String(port), "--data-dir", join(dir, "data")], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const code = await exitCodeWithin(proc, 15_000);
  if (code === "still running") proc.kill("SIGINT");
  expect(await new Response(proc.stderr).text()).toBe(
    `stack: ${exe} is the stack alone: it cannot run its workers and dashboard, which are subcommands of the whole build; run "bun run build", then "dist/courier stack"\n`,
  );
  expect(code).toBe(2);
  expect(await new Response(proc.stdout).text()).toBe("");
  expect(await isPortFree(port)).toBe(true);
}, 60_000);
