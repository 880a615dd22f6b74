// What a stack prints once it is up: where Redis is (password masked), the workers and the
// dashboard, and the commands to try next with just the flags they need to reach this stack.
import { defaults } from "../config.ts";
import { maskUrl } from "../redis/url.ts";
import type { LocalRedis } from "./_local-redis.ts";
import type { Output } from "./_output.ts";
import { shownCommand } from "./_self.ts";
import type { StackOptions } from "./options.ts";

/** The lines the stack prints once it is ready (to the `system` column). */
export async function printBanner(
  output: Output,
  options: StackOptions,
  url: string,
  redis: LocalRedis | undefined,
  dashboard: string | undefined,
): Promise<void> {
  const say = (text: string) => output.line("system", text);
  const [where, ...more] = redis
    ? await redis.describe()
    : ["not started here: its data is its own"];
  say(`redis    ${maskUrl(url)}  ${where}`);
  for (const line of more) say(`         ${line}`);
  say(`workers  ${options.workers} on queue "${options.queue}", each restarted 2 s after it exits`);
  if (dashboard) say(`dashboard ${dashboard}  (metrics at ${dashboard}/metrics)`);
  say("ready. In another terminal, try:");
  const flags = clientFlags(options, url);
  say(`  ${shownCommand("trigger")} --url https://example.org/${flags}`);
  say(`  ${shownCommand("result")} --jobid <id>${flags}`);
  say(`Ctrl-C stops the workers (they finish their jobs first)${redis ? ", then Redis" : ""}.`);
}

/** The flags trigger and result need to reach our workers: none when env and defaults do. */
function clientFlags(options: StackOptions, url: string): string {
  const env = process.env;
  let flags = "";
  // Masked: a password is never printed; whoever copies the line types it in.
  if (url !== (env.REDIS_URL || defaults.redisUrl)) flags += ` --redis-url ${maskUrl(url)}`;
  if (options.queue !== (env.COURIER_QUEUE || defaults.queue)) flags += ` --queue ${options.queue}`;
  if (options.prefix !== (env.COURIER_PREFIX || defaults.prefix)) {
    flags += ` --prefix ${options.prefix}`;
  }
  return flags;
}
