#!/usr/bin/env bun
// `bun run build`: each command in bin/ (not the `_` helpers) becomes a standalone executable
// in dist/, with Bun and every dependency (and the Lua scripts) inside.
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const entries = readdirSync(join(root, "bin")).filter(
  (f) => f.endsWith(".ts") && !f.startsWith("_"),
);
const only = process.argv.slice(2);
for (const file of entries) {
  const name = file.replace(/\.ts$/, "");
  if (only.length > 0 && !only.includes(name)) continue;
  const outfile = join(root, "dist", name);
  const cmd = [
    "bun",
    "build",
    "--compile",
    "--minify",
    join(root, "bin", file),
    "--outfile",
    outfile,
  ];
  const code = await Bun.spawn({ cmd, stdout: "ignore", stderr: "inherit" }).exited;
  if (code !== 0) {
    process.stderr.write(`build: ${file} failed (exit ${code})\n`);
    process.exit(1);
  }
  process.stdout.write(`built dist/${name}\n`);
}
