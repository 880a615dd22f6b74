// `courier --help` (bin/courier.ts): the summary of each command stays true to the command as
// it grows: a command of subcommands names every one, and trigger names each kind of input.
import { expect, test } from "bun:test";
import { command as dead } from "../bin/dead.ts";
import { command as queue } from "../bin/queue.ts";
import { command as schedule } from "../bin/schedule.ts";
import { runCli } from "./helpers.ts";

async function summaries(): Promise<Map<string, string>> {
  const r = await runCli("courier", ["--help"]);
  expect(r.code).toBe(0);
  const rows = r.stdout.split("\n").filter((line) => /^ {2}\w/.test(line));
  return new Map(rows.map((line) => [line.trim().split(" ")[0]!, line.trim()]));
}

test("a command of subcommands names every one of them", async () => {
  const shown = await summaries();
  const subcommands = {
    queue: queue.subCommands,
    dead: dead.subCommands,
    schedule: schedule.subCommands,
  };
  for (const [name, subs] of Object.entries(subcommands)) {
    for (const sub of Object.keys(subs ?? {})) {
      expect({ name, sub, named: shown.get(name)!.toLowerCase().includes(sub) }).toEqual({
        name,
        sub,
        named: true,
      });
    }
  }
});

test("trigger names each way to say what is enqueued: --task, --url, --file", async () => {
  const line = (await summaries()).get("trigger")!;
  for (const option of ["--task", "--url", "--file"]) expect(line).toContain(option);
});
