#!/usr/bin/env bun
// `bun run check`: format/lint, typecheck, then every test; ends with `N passed, N failed`.
// Each step's output is shown as it runs; the exit code is non-zero if any step failed.

export {};

const steps: [string, string[]][] = [
  ["lint", ["bunx", "biome", "check", "."]],
  ["typecheck", ["bunx", "tsc", "--noEmit", "-p", "."]],
];

let failed = false;
for (const [name, cmd] of steps) {
  process.stdout.write(`\n== ${name}: ${cmd.join(" ")}\n`);
  const code = await Bun.spawn({ cmd, stdout: "inherit", stderr: "inherit" }).exited;
  if (code !== 0) {
    process.stdout.write(`== ${name} failed (exit ${code})\n`);
    failed = true;
  }
}

// Queue tests talk to a real Redis and real subprocesses: 30 s each, not bun's 5 s (bunfig.toml
// cannot set this; bun only reads --timeout).
const testCmd = ["bun", "test", "--timeout", "30000", ...process.argv.slice(2)];
process.stdout.write(`\n== tests: ${testCmd.join(" ")}\n`);
const proc = Bun.spawn({
  cmd: testCmd,
  stdout: "pipe",
  stderr: "pipe",
});
let summary = "";
const pump = async (stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) => {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    out.write(text);
    summary = (summary + text).slice(-4_000); // bun prints its totals last
  }
};
await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
const testCode = await proc.exited;
const count = (word: string) =>
  Number(new RegExp(`^\\s*(\\d+) ${word}$`, "m").exec(summary)?.[1] ?? 0);
const passed = count("pass");
const failedTests = count("fail");
if (testCode !== 0) failed = true;
process.stdout.write(`\n${passed} passed, ${failedTests} failed\n`);
process.exit(failed ? 1 : 0);
