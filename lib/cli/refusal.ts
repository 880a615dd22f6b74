// Commands Redis refuses for good, as one line that says what the user needs: NOPERM (the ACL
// user lacks a command or a key pattern; README.md "Redis ACL" lists what each role needs) and
// WRONGTYPE (a key under Courier's prefix holds something Courier did not write, found by Redis
// or by a script's own check before its first write), MOVED (a cluster's node given as
// redis://). And, for a command's exit only, READONLY.
import { ErrorReply } from "@redis/client";
import { type Script, scripts } from "../engine/lua.ts";
import { causes, RedisRefusedError } from "../errors.ts";
import { safeText } from "../safe-text.ts";

const ACL_HELP = 'see "Redis ACL" in README.md for the rules each role needs';

/** One line for a refusal found in `err` or its causes; null when it is not one. */
export function describeRefusal(err: unknown): string | null {
  if (err instanceof RedisRefusedError) return err.message;
  const reply = findReply(err);
  return reply ? refusalLine(reply.message) : null;
}

/** The line for one error reply's text, or null when the reply is not a refusal. */
export function refusalLine(text: string): string | null {
  const command = /permissions to run the '([^']+)' command/.exec(text)?.[1];
  if (command) {
    const rule = `+${command.toLowerCase()}`;
    return `Redis refused ${command.toUpperCase()} (NOPERM): the Redis user needs ${rule}; ${ACL_HELP}`;
  }
  if (/^NOPERM .*keys?\b/.test(text)) {
    return `Redis refused access to a key (NOPERM): the Redis user's key pattern must cover the prefix (~<prefix>:*); ${ACL_HELP}`;
  }
  const script = scriptOf(text);
  if (/can't run this command/.test(text)) {
    // Redis does not say which command: name those the script runs, one of them is missing.
    const runs = scriptCommands(script);
    const needs = runs ? `needs all of ${runs}` : "lacks a command that script runs";
    return `Redis refused a command inside Courier's ${script} script (NOPERM): the Redis user ${needs}; ${ACL_HELP}`;
  }
  if (/can't access .*keys/.test(text)) {
    return `Redis refused a key inside Courier's ${script} script (NOPERM): the Redis user's key pattern must cover the prefix (~<prefix>:*); ${ACL_HELP}`;
  }
  // A script's own up-front check (lib/engine/lua/include/wrongtype.lua), which names the key: nothing written.
  const key = /courier: key (.+) holds an? (\w+), not an? (\w+)/.exec(text);
  if (key) {
    const [, name, has, wants] = key;
    const by = script === "unknown" ? "a Courier script" : `Courier's ${script} script`;
    return `Redis refused ${by} (WRONGTYPE): key ${safeText(name!)} holds a ${has} where Courier keeps a ${wants}; nothing was written; another program uses these keys: give Courier its own --prefix, or delete that key`;
  }
  // enqueue.lua: the batch's entries would pass the largest stream id; nothing written.
  const full = /courier: stream (.+) has no ids left/.exec(text);
  if (full) {
    return `Redis refused Courier's enqueue script: the job stream ${safeText(full[1]!)} has no ids left (its last id is near the largest a stream can hold, 18446744073709551615-18446744073709551615); nothing was enqueued; enqueue into another queue or --prefix`;
  }
  // A node of a Redis Cluster given as redis:// (`+cluster` forgotten), or its replica: a key of
  // a slot another node serves is answered MOVED (ASK while it migrates). Courier follows no
  // redirection on a client of one server.
  const moved = /^(MOVED|ASK) (\d+) (\S+)/.exec(text);
  if (moved) {
    const [, word, slot, node] = moved;
    return `Redis answered ${word} (slot ${slot} is served by ${safeText(node!)}): this Redis is a node of a Redis Cluster; give the cluster's nodes as redis+cluster://${safeText(node!)}[,host:port…] (docs/cluster.md)`;
  }
  if (/\bWRONGTYPE\b/.test(text)) {
    const where = script === "unknown" ? "" : ` (in Courier's ${script} script)`;
    return `Redis refused a command${where} (WRONGTYPE): a key under Courier's prefix holds a value of another type than Courier writes; another program uses these keys: give Courier its own --prefix, or delete that key`;
  }
  return null;
}

/**
 * A write refused READONLY, as a command's one line (exit 6): the address of a replica given
 * where its master's was meant. Not a refusal for good to a worker, whose master may be
 * demoted for a moment by a failover (its reads go on being tried), only to a command's exit.
 */
export function readOnlyLine(err: unknown): string | null {
  const reply = findReply(err);
  if (!reply || !/^READONLY\b/.test(reply.message)) return null;
  return "Redis refused a write (READONLY): this Redis is a read-only replica; give its master's address";
}

function findReply(err: unknown): Error | null {
  return (causes(err).find((e) => e instanceof ErrorReply) as Error | undefined) ?? null;
}

/** Every script a Courier process may run, by the name a message gives it (made on demand). */
const all = (): readonly Script[] => Object.values(scripts);

/** `+exists +hset …`: the commands a script's source calls, as ACL rules; null if unknown. */
function scriptCommands(name: string): string | null {
  const source = all().find((s) => s.name === name)?.source;
  if (!source) return null;
  const call =
    /redis\.p?call\(\s*'(\w+)'|pcall\(redis\.call,\s*'(\w+)'|read\('(\w+)'|\{\s*'([A-Z]+)'/g;
  const called = [...source.matchAll(call)];
  const names = new Set(called.map((m) => `+${(m[1] ?? m[2] ?? m[3] ?? m[4]!).toLowerCase()}`));
  return [...names].sort().join(" ");
}

/** The name of the script an error came from (Redis names it by its SHA1). */
function scriptOf(text: string): string {
  const sha = /script: ([0-9a-f]{40})/.exec(text)?.[1] ?? /f_([0-9a-f]{40})/.exec(text)?.[1];
  const found = all().find((s) => s.sha === sha);
  return found ? found.name : "unknown";
}
