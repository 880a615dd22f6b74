// Which key a raw command is routed by on a Redis Cluster, and whether it blocks its connection.
// Courier sends raw commands (Redis.sendCommand): the cluster client (cluster.ts) routes each by
// the rule here instead of node-redis' command policies, which send some keyless commands
// (WAIT, PING, CLIENT SETNAME, SCRIPT LOAD, …) to every master and aggregate their replies.

/** Commands that name no key: sent to one node chosen by the caller (cluster.ts), never to all. */
const KEYLESS = new Set(
  [
    "ACL AUTH BGREWRITEAOF BGSAVE CLIENT CLUSTER COMMAND CONFIG DBSIZE DEBUG DISCARD ECHO EXEC",
    "FAILOVER FLUSHALL FLUSHDB FUNCTION HELLO INFO KEYS LASTSAVE LATENCY LOLWUT MODULE MONITOR",
    "MULTI PING PSUBSCRIBE PUBLISH PUBSUB PUNSUBSCRIBE QUIT RANDOMKEY READONLY READWRITE",
    "REPLICAOF RESET ROLE SAVE SCAN SCRIPT SELECT SHUTDOWN SLAVEOF SLOWLOG SUBSCRIBE SWAPDB",
    "TIME UNSUBSCRIBE UNWATCH WAIT WAITAOF",
  ]
    .join(" ")
    .split(" "),
);

/** `<command> <subcommand> <key> …`: the key is the third word (none for HELP, STATS, …). */
const KEY_AFTER_SUBCOMMAND = new Set(["MEMORY", "OBJECT", "XGROUP", "XINFO"]);

/** `<script> <sha|body|function> <numkeys> <key> …`. */
const SCRIPTS = new Set(["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"]);

/** Block their connection until data comes or the timeout passes. */
const BLOCKING = new Set([
  "BLMOVE",
  "BLMPOP",
  "BLPOP",
  "BRPOP",
  "BRPOPLPUSH",
  "BZMPOP",
  "BZPOPMAX",
  "BZPOPMIN",
]);

/** Where XREAD's and XREADGROUP's options start: after `GROUP <group> <consumer>`. */
function streamOptionsFrom(name: string): number {
  return name === "XREADGROUP" ? 4 : 1;
}

/** Index of the STREAMS word of an XREAD/XREADGROUP, -1 without one. */
function streamsAt(args: readonly string[], name: string): number {
  for (let i = streamOptionsFrom(name); i < args.length; i++) {
    if (args[i]!.toUpperCase() === "STREAMS") return i;
  }
  return -1;
}

/** The key a command is routed by, or undefined for a command that names none. */
export function commandKey(args: readonly string[]): string | undefined {
  const name = args[0]?.toUpperCase();
  if (name === undefined || KEYLESS.has(name)) return undefined;
  if (SCRIPTS.has(name)) return Number(args[2]) > 0 ? args[3] : undefined;
  if (name === "XREAD" || name === "XREADGROUP") {
    const at = streamsAt(args, name);
    return at === -1 ? undefined : args[at + 1];
  }
  if (KEY_AFTER_SUBCOMMAND.has(name)) return args[2];
  return args[1];
}

/** The command holds its connection while it waits: BLPOP and kin, XREAD(GROUP) … BLOCK. */
export function isBlocking(args: readonly string[]): boolean {
  return blockMsOf(args) > 0;
}

/**
 * How long a command may wait in Redis before it answers, by its own terms (ms): `BLOCK n` of
 * an XREAD(GROUP); for ever for `BLOCK 0` and for BLPOP and kin (their timeouts are not read
 * here: Courier sends none); 0 for every other command.
 */
export function blockMsOf(args: readonly string[]): number {
  const name = args[0]?.toUpperCase();
  if (name === undefined) return 0;
  if (BLOCKING.has(name)) return Number.POSITIVE_INFINITY;
  if (name !== "XREAD" && name !== "XREADGROUP") return 0;
  const end = streamsAt(args, name);
  for (let i = streamOptionsFrom(name); i < (end === -1 ? args.length : end); i++) {
    if (args[i]!.toUpperCase() !== "BLOCK") continue;
    const ms = Number(args[i + 1]);
    return ms > 0 ? ms : Number.POSITIVE_INFINITY;
  }
  return 0;
}
