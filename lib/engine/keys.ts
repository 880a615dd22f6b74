// The one module that names Redis keys, and the forms of job ids (docs/internals.md, "Keys", "Job ids").
// Every key of a queue carries the hash tag `{queue}`, so the whole queue lives in one Redis
// Cluster slot and multi-key scripts work there too. Nothing here assumes one stream per queue:
// scripts take one shard's keys, and `shardOf` says which shard an id lives in.

import { DOT_SEGMENT_REASON, isDotSegment } from "../dot-segment.ts";
import { crc16Digits, crc16Text, SLOTS } from "../redis/slot.ts";
import { cutText, shownInput } from "../safe-text.ts";
import { dateMs } from "../time.ts";
import { isValidJobId } from "./record.ts";

const UTF8 = new TextEncoder();

export interface QueueKeys {
  /**
   * Hash: `format` (the data format the queue's keys are written in, DATA_FORMAT) and
   * `created_at` (Redis' ms), written once by the first worker or producer (meta.lua); a shard
   * of N > 1 also `of` N (`shards` below).
   */
  meta: string;
  /** The shard's stream: one entry per delivery of a job (fields: lib/engine/entry.ts). */
  stream: string;
  /** Sorted set: job ids waiting for a retry back-off or a delayed enqueue, scored by due ms. */
  delayed: string;
  /** Stream of dead letters: jobs that failed for good. */
  dead: string;
  /**
   * Stream of job events, trimmed by approximate length: `type` failed or retried with `id`,
   * or `type` finished with `ids` (every job one finish batch recorded, comma-separated).
   */
  events: string;
  /** Sorted set of live workers, scored by last heartbeat ms. */
  workers: string;
  /** Hash per worker: host, pid, concurrency, in-flight and processed counts. */
  worker: (name: string) => string;
  /** Prefix of worker hashes, for Lua scripts that build worker keys from names. */
  workerPrefix: string;
  /**
   * Hash of per-task facts: `alive_until:<task>` = until when (Redis' ms) a worker that has the
   * task counts as live (its last beat plus six of its heartbeats, the latest of them),
   * `parked:<task>` = jobs parked for it (no live worker had it when they came).
   */
  tasks: string;
  /** Prefix of the sorted sets (one per task) of parked job ids, scored by when parked. */
  parkedPrefix: string;
  /**
   * Hash of counters: enqueued, started, finished, failed, retried, dead, claimed, requeued, canceled, and
   * dead_trimmed (dead letters dropped, oldest first, for new ones while Redis was full).
   */
  stats: string;
  /**
   * Hash of per-minute counts, field `<epoch minute>:<finished|failed|retried>`, plus `trimmed`
   * (the last minute the scripts trimmed at); fields older than MINUTES_KEPT are deleted.
   */
  minutes: string;
  /**
   * Hash: histogram of finished jobs' run times. Field `<bound ms>` (or `inf`) counts jobs whose
   * run took at most that bound and more than the one below; `sum_ms` as well (the count is
   * the buckets' sum).
   */
  durations: string;
  /**
   * Stream of the job ids canceled lately, an entry per cancel call (cancel.lua adds, trimmed by
   * length): what workers running jobs read to abort a canceled job's signal
   * (lib/worker/cancels.ts, canceledAfter).
   */
  canceled: string;
  /** `r:<id>`: a string holding the job's outcome (lib/engine/outcome.ts), with a TTL. */
  result: (id: string) => string;
  resultPrefix: string;
  /** `job:<id>`: the record hash, only for jobs that need one (caller id, delayed, retried…). */
  record: (id: string) => string;
  /** Prefix of record hashes, for Lua scripts that build record keys from ids. */
  recordPrefix: string;
  /** `receipt:<batch>`: an enqueue batch's reply, so a re-sent batch adds nothing. */
  receipt: (batch: string) => string;
  /**
   * `progress:<id>`: a string holding the JSON of the last progress a running job reported
   * (lib/engine/progress.ts), with a TTL (the attempt's time limit + 60 s) renewed at each write.
   */
  progress: (id: string) => string;
  /** Prefix of progress keys, for status.lua, which builds them from ids. */
  progressPrefix: string;
  /**
   * Dependencies (docs/internals.md, "Dependencies and batches"). Set of the ids of this shard's
   * jobs that other jobs wait for: finish, fail, bury, claim and cancel check the jobs they end
   * against it (one SMISMEMBER per call).
   */
  hasDependents: string;
  /** Sorted set: ended jobs of this shard whose dependents are still to be told, by end ms. */
  endedParents: string;
  /** Sorted set: this shard's jobs waiting for their parents, by enqueue ms (for listings). */
  children: string;
  /**
   * Sorted set: children released to their stream, by release ms, whose `parents:<child>` list
   * is given their outcome's TTL once they end (ended.lua's sweep).
   */
  released: string;
  /**
   * Sorted set: children whose registration is not complete yet (created, their parents not
   * all told of them), by create ms; the producer takes a child out after its last step, and
   * workers finish (or fail) the ones left there too long (lib/worker/orphans.ts).
   */
  registering: string;
  /**
   * Sorted set: children that ended (or will never run) whose parents still keep their
   * outcomes for them, by ms; the drain lets go of each parent's `holds:<parent>` (depend.lua).
   */
  lettingGo: string;
  /**
   * Prefix of `holds:<parent>` sets: the children that may still read the parent's outcome;
   * while one is left, the outcome is kept with no TTL (docs/internals.md, "Dependencies and
   * batches").
   */
  holdsPrefix: string;
  /** Prefix of `dependents:<parent>` sets (the ids of the jobs waiting for that parent). */
  dependentsPrefix: string;
  /** Prefix of `waits:<child>` sets (the parents the child still waits for). */
  waitsPrefix: string;
  /** Prefix of `parents:<child>` lists (all the child's parent ids, in the order given). */
  parentsPrefix: string;
  /** Which shard of its queue these keys are (0 for a one-shard queue). */
  shard: number;
  /**
   * How many shards the layout these keys are of has (1 for a one-shard queue). A shard's meta
   * of N > 1 records it (field `of`, written with its format): a shard's tag does not say its
   * count, and two layouts may share one (shard 0 of `q` is `{q#0#3}` with 2 and with 4), so
   * enqueue.lua tells a shard of another layout by it.
   */
  shards: number;
  /**
   * What this shard appends to an entry id to make a job's auto id (idSuffix): "" for a
   * one-shard queue, `:<shard>` otherwise. Every script that takes a job id from an entry id
   * gets it, so a job's id names its shard.
   */
  idSuffix: string;
  /**
   * The priority level these keys are a view of (levelKeys): absent for normal, the shard's own
   * keys. A level's view differs in its waiting work only (stream, delayed, tasks, parked sets);
   * everything else (records, outcomes, events, stats, letters, workers) is the shard's.
   */
  level?: Level;
}

/** A job's priority within its queue (`JobSpec.priority`, `trigger --priority`). */
export type Level = "high" | "normal" | "low";
/** The levels in the order a worker serves them (strict: high first). */
export const LEVELS: readonly Level[] = ["high", "normal", "low"];

/**
 * The keys of `level` in a shard (docs/internals.md, "Priority levels"): normal is the shard's
 * own keys (a queue without levels is today's layout); high and low have their own stream,
 * delayed set, tasks hash and parked sets under the same tag (`stream:high`, `delayed:high`,
 * `tasks:high`, `parked-high:<task>`: not under `parked:`, where any task name may follow), so
 * a script still takes one shard's keys.
 */
export function levelKeys(keys: QueueKeys, level: Level): QueueKeys {
  if (level === "normal") return keys;
  const base = keys.meta.slice(0, -":meta".length);
  return {
    ...keys,
    stream: `${base}:stream:${level}`,
    delayed: `${base}:delayed:${level}`,
    tasks: `${base}:tasks:${level}`,
    parkedPrefix: `${base}:parked-${level}:`,
    level,
  };
}

/** Minutes of per-minute counts kept (three hours: the dashboard's chart and `info` use one). */
export const MINUTES_KEPT = 180;

/**
 * The data format this Courier reads and writes. A process meeting a queue of another format
 * refuses it (lib/engine/format.ts) rather than misread it; a change of layout bumps it.
 */
export const DATA_FORMAT = 2;

/** The consumer group every worker of a queue reads through. */
export const GROUP = "workers";

/**
 * What a restarted worker's name gets to name the consumer its dead predecessor's entries are
 * moved to (lib/worker/presence.ts, handOverPredecessor): `<name>~gone`. No worker may have a
 * name ending so (lib/config.ts): claims skip a worker's own entries, so a worker named
 * `X~gone` would hold X's orphaned jobs and never run them.
 */
export const HANDOVER_SUFFIX = "~gone";

/** The keys of a one-shard queue (N = 1: today's layout), or of shard 0's tag being the queue's name. */
export function queueKeys(prefix: string, queue: string): QueueKeys {
  return tagKeys(prefix, queue);
}

/** Most shards a queue may have (`--shards`). */
export const MAX_SHARDS = 1024;

/**
 * The problem with a shard count given as text (COURIER_SHARDS), or null when it is one: plain
 * decimal digits, 1 to MAX_SHARDS. The value is quoted as given (a caller escapes it for a
 * terminal) and cut at 20 characters.
 */
export function shardCountProblem(text: string): string | null {
  const n = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (n >= 1 && n <= MAX_SHARDS) return null;
  return `COURIER_SHARDS must be a whole number from 1 to ${MAX_SHARDS}, got "${cutText(text, 20)}"`;
}

/**
 * The keys of every shard of a queue of `shards` shards, shard s at index s. A one-shard queue
 * is today's layout (`{queue}`); with more, each shard has a tag of its own (shardTag), and the
 * queue-wide facts (the shard count) stay in `{queue}:meta` (layoutKey).
 */
export function shardKeys(prefix: string, queue: string, shards: number): QueueKeys[] {
  return Array.from({ length: shards }, (_, s) =>
    tagKeys(prefix, shardTag(queue, s, shards), s, idSuffix(s, shards), shards),
  );
}

/**
 * The hash holding a queue's shard count (field `shards`): `{queue}:meta`, the same key as a
 * one-shard queue's meta. Fixed once written: a job's shard follows from its id and N.
 */
export function layoutKey(prefix: string, queue: string): string {
  return `${prefix}:{${queue}}:meta`;
}

/**
 * What separates a queue's name from a shard's numbers in its tag (`<queue>#<shard>#<j>`): a
 * character no queue name may have (lib/config.ts QUEUE_NAME), so no queue's keys can be
 * another queue's shard (a queue named `q:1:3` would be shard 1 of `q` with `:`).
 */
export const SHARD_TAG_SEP = "#";

/**
 * The hash tag of shard `shard` of `shards`: the queue's name for one shard; else the first
 * `<queue>#<shard>#<j>` (j = 0, 1, …) whose slot falls in the middle half of the shard's
 * 1/N of the slot space, so N shards spread evenly over masters that split the slots evenly
 * (research/cluster.md §2.2: N/3 per master of a default 3-master cluster, for N = 6 or 12).
 * Pure: every process computes the same tags.
 */
export function shardTag(queue: string, shard: number, shards: number): string {
  if (shards === 1) return queue;
  const width = SLOTS / shards;
  const low = shard * width + width / 4;
  const high = shard * width + (3 * width) / 4;
  const head = `${queue}${SHARD_TAG_SEP}${shard}${SHARD_TAG_SEP}`;
  // The tags differ in their last digits only: the head's CRC once, then each j's digits from
  // it (a search takes 2N tries on average: at 1,024 shards the keys took 1.6 s of CPU). The
  // whole tag is the hash tag: no queue name has a brace (QUEUE_NAME) to cut it short.
  const headCrc = crc16Text(head);
  for (let j = 0; ; j++) {
    const tag = `${head}${j}`;
    const slot = crc16Digits(headCrc, j) % SLOTS;
    if (slot >= low && slot < high) return tag;
    // Past 1024 shards a slot range is under one slot wide: take the first tag in the range.
    if (width < 4 && slot >= shard * width && slot < (shard + 1) * width) return tag;
  }
}

/** The keys under one hash tag: `<prefix>:{<tag>}:…`. */
export function tagKeys(
  prefix: string,
  tag: string,
  shard = 0,
  suffix = "",
  shards = 1,
): QueueKeys {
  const base = `${prefix}:{${tag}}`;
  const recordPrefix = `${base}:job:`;
  const workerPrefix = `${base}:worker:`;
  const resultPrefix = `${base}:r:`;
  const progressPrefix = `${base}:progress:`;
  return {
    meta: `${base}:meta`,
    stream: `${base}:stream`,
    delayed: `${base}:delayed`,
    dead: `${base}:dead`,
    events: `${base}:events`,
    workers: `${base}:workers`,
    worker: (name) => workerPrefix + name,
    workerPrefix,
    tasks: `${base}:tasks`,
    parkedPrefix: `${base}:parked:`,
    stats: `${base}:stats`,
    minutes: `${base}:stats:minutes`,
    durations: `${base}:stats:durations`,
    canceled: `${base}:canceled`,
    result: (id) => resultPrefix + id,
    resultPrefix,
    record: (id) => recordPrefix + id,
    recordPrefix,
    receipt: (batch) => `${base}:receipt:${batch}`,
    progress: (id) => progressPrefix + id,
    progressPrefix,
    hasDependents: `${base}:has-dependents`,
    endedParents: `${base}:ended-parents`,
    children: `${base}:children`,
    released: `${base}:released`,
    registering: `${base}:registering`,
    lettingGo: `${base}:letting-go`,
    holdsPrefix: `${base}:holds:`,
    dependentsPrefix: `${base}:dependents:`,
    waitsPrefix: `${base}:waits:`,
    parentsPrefix: `${base}:parents:`,
    shard,
    shards,
    idSuffix: suffix,
  };
}

/** The form of an id Courier makes: the job's first stream entry id (`<ms>-<seq>`, a shard suffix with N > 1). */
const AUTO_ID = /^(\d+)-(\d+)(:\d+)?$/;
/** Redis stream ids are two unsigned 64-bit numbers. */
/** The largest ms or seq of a stream id (2^64 - 1). */
export const U64_MAX = 2n ** 64n - 1n;

/**
 * An id Courier makes: of the auto form, with both numbers within a stream id's range. An id
 * of that form past the range (`99999999999999999999-1`) names no job: Courier never made it
 * and callers may not use the form (callerIdProblem), so it reads as unknown everywhere
 * (result exit 4, the dashboard's 404, Queue.getJob null), and is never sent as a stream id.
 */
export function isAutoId(id: string): boolean {
  const m = AUTO_ID.exec(id);
  return m !== null && BigInt(m[1]!) <= U64_MAX && BigInt(m[2]!) <= U64_MAX;
}

/**
 * The prefix of the ids of a schedule's jobs (scheduleJobId): reserved, so that no caller's
 * job takes a tick's place (its id would make the tick's enqueue find a job, and add nothing).
 */
export const SCHEDULE_ID_PREFIX = "sched:";

/**
 * The problem with a caller-given job id, or null when it may be used. `scheduler`: the id of a
 * tick's job, made by a scheduler (the one caller that may use SCHEDULE_ID_PREFIX).
 */
export function callerIdProblem(id: string, scheduler = false): string | null {
  if (!isValidJobId(id)) return `job id "${shownInput(id)}" must be 1-128 letters, digits or _.:-`;
  if (isDotSegment(id)) return `job id "${id}" must not be . or ..: ${DOT_SEGMENT_REASON}`;
  if (AUTO_ID.test(id)) {
    return `job id "${id}" has the form of an id Courier makes (digits-digits): add a letter`;
  }
  if (!scheduler && id.startsWith(SCHEDULE_ID_PREFIX)) {
    return `job id "${id}" starts with ${SCHEDULE_ID_PREFIX}, which is reserved for the jobs of recurring schedules`;
  }
  return null;
}

/**
 * The ms part of an auto id (Redis' clock when the job was enqueued), else null; null too past
 * a Date's range (dateMs): an entry added with such an id by hand tells no time.
 */
export function autoIdMs(id: string): number | null {
  if (!isAutoId(id)) return null;
  return dateMs(Number(id.slice(0, id.indexOf("-"))));
}

/**
 * The shard a job id lives in: 0 for a one-shard queue; with N > 1, the `:<s>` suffix of an
 * auto id (`<ms>-<seq>:<s>`: the entry id its shard's stream gave it, and the shard), else
 * `fnv1a32(utf8(id)) % N` for a caller's id, so dedup, `result` and requeue touch one shard.
 * An auto id without a suffix (or a suffix past N) is no id of an N-shard queue: -1.
 */
export function shardOf(id: string, shards: number): number {
  if (shards === 1) return 0;
  const m = AUTO_ID.exec(id);
  if (m === null) return fnv1a32(id) % shards;
  const s = m[3] === undefined ? -1 : Number(m[3].slice(1));
  return s < shards ? s : -1;
}

/**
 * A job's caller id, or null for an auto id (its entry's id and the shard's suffix): the scripts
 * are given the caller's id only, an auto id being the entry's.
 */
export function callerIdOf(keys: QueueKeys, entryId: string, jobId: string): string | null {
  return jobId === entryId + keys.idSuffix ? null : jobId;
}

/** What a shard appends to an entry id to make a job's auto id: nothing for one shard. */
export function idSuffix(shard: number, shards: number): string {
  return shards === 1 ? "" : `:${shard}`;
}

/** The entry id an auto id was made from (its shard suffix dropped). */
export function entryOfAutoId(id: string): string {
  const colon = id.indexOf(":");
  return colon === -1 ? id : id.slice(0, colon);
}

/** FNV-1a, 32 bits, of the UTF-8 bytes of `text` (what other languages compute alike). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of UTF8.encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The hash tag of recurring schedules (lib/schedule/): `#` may not be in a queue's name
 * (lib/config.ts QUEUE_NAME), so no queue's keys can share it. One tag for every schedule of
 * the prefix: a schedule's script touches its definition and its next tick together.
 */
export const SCHEDULES_TAG = "#schedules";

export interface ScheduleKeys {
  /** Hash: schedule name -> JSON definition (lib/schedule/spec.ts). */
  defs: string;
  /**
   * Hash: schedule name -> its queue, kept apart from the JSON so that no script decodes a
   * definition to know which `next` a schedule is in.
   */
  where: string;
  /** Set: the queues whose `next` zset has a schedule (what a scheduler of every queue reads). */
  queues: string;
  /**
   * Hash: schedule name -> `<tick> <failures>` of a schedule backed off after failing to fire:
   * its score in `next` is then the retry time, and this is its real tick.
   */
  failing: string;
  /** What a queue's `next` key starts with (the scripts append the queue). */
  nextPrefix: string;
  /**
   * Sorted set per queue, every score 0: the names of the queue's schedules, paused ones too,
   * so a queue's schedules are read in pages by name (ZRANGE BYLEX) and counted (ZCARD)
   * without reading any other queue's. Kept by schedule-save.lua beside `where`.
   */
  names: (queue: string) => string;
  /** What a queue's `names` key starts with (the scripts append the queue). */
  namesPrefix: string;
  /**
   * String, set once every schedule saved before the `names` index existed is in it
   * (schedule-index.lua builds it from `where` a page at a time, lib/schedule/read.ts).
   */
  indexed: string;
  /**
   * Sorted set per queue: schedule name -> its next tick, ms on Redis' clock; a paused one is
   * absent. One per queue, so a worker reads its own queues' due schedules only.
   */
  next: (queue: string) => string;
}

/** The keys of the prefix's recurring schedules (docs/internals.md, "Recurring schedules"). */
export function scheduleKeys(prefix: string): ScheduleKeys {
  const base = `${prefix}:{${SCHEDULES_TAG}}`;
  // `next:<queue>` and `names:<queue>` are no other key: the other names here have no `:`
  // after them.
  const nextPrefix = `${base}:next:`;
  const namesPrefix = `${base}:names:`;
  return {
    defs: `${base}:defs`,
    where: `${base}:where`,
    queues: `${base}:queues`,
    failing: `${base}:failing`,
    nextPrefix,
    next: (queue) => nextPrefix + queue,
    namesPrefix,
    names: (queue) => namesPrefix + queue,
    indexed: `${base}:indexed`,
  };
}

/**
 * The caller id of the job a schedule's tick enqueues: `sched:<name>:<tick ms>`. It names the
 * tick, so firing a tick again (a lost reply, a crash before the advance, two schedulers at
 * once) finds the job and adds nothing. A schedule name is 1-64 of `A-Za-z0-9_.-`
 * (lib/schedule/spec.ts), so the id is at most 84 chars; callerIdProblem refuses its prefix to
 * every caller but a scheduler.
 */
export function scheduleJobId(name: string, tickMs: number): string {
  return `${SCHEDULE_ID_PREFIX}${name}:${tickMs}`;
}

/**
 * A queue's rate-limit keys (docs/internals.md, "Rate limits"): all under the queue's own tag
 * `{<queue>}` (the layout key's, which holds the limits' settings), so one script decides for
 * every worker and every shard of the queue at once, exact across them.
 */
export interface LimitKeys {
  /**
   * The layout key `{queue}:meta`: `rate`, `key_concurrency`, `key_rate`, `holds`; `tat_rate`
   * (the rate `rate` below was computed under: limit.lua retimes it when the rate changed).
   */
  layout: string;
  /** String: the queue-wide rate's next free start slot (GCRA's TAT, Redis' ms). */
  rate: string;
  /** Sorted set of free start slots left behind (member `<from>|<to>`, scored by `<from>`). */
  gaps: string;
  /**
   * Hash per key: `tat` (its next rate slot), `tat_rate` (the key rate it was computed
   * under), `held_until` (a hold), `hold_next`, `seq`,
   * `run|<job id>` (the token of the job's running slot), `woke` (the last key rate change's
   * wake that visited it: rate-held.lua).
   */
  key: (limitKey: string) => string;
  /** Sorted set per key: run token -> when its slot frees itself (Redis' ms; a dead worker's). */
  running: (limitKey: string) => string;
  /** Sorted set per key: `<shard>|<job id>` of jobs waiting for a running slot, in order. */
  waiting: (limitKey: string) => string;
  /**
   * Sorted set per key: `<shard>|<job id>` of jobs held back by its rate -> their slot: woken
   * when the key rate changes (lib/engine/rate-held.ts).
   */
  rateHeld: (limitKey: string) => string;
  /**
   * Sorted set per key: its rate-held set as a key rate change found it, which the wake goes
   * through a page at a time (a snapshot: jobs held meanwhile go to a fresh rate-held set).
   * The wakes' tokens rise: `wake_seq` in the layout hash.
   */
  rateWaking: (limitKey: string) => string;
  /** Sorted set: held keys -> their next slot (Redis' ms), for `info` and the dashboard. */
  keys: string;
  /** Prefixes of the per-key keys, for scripts that build them from a key's name. */
  keyPrefix: string;
  runningPrefix: string;
  waitingPrefix: string;
  rateHeldPrefix: string;
  rateWakingPrefix: string;
}

/** The rate-limit keys of `queue` (one tag: the queue's own, as its layout key). */
export function limitKeys(prefix: string, queue: string): LimitKeys {
  const base = `${prefix}:{${queue}}:limit`;
  const keyPrefix = `${base}:key:`;
  const runningPrefix = `${base}:running:`;
  const waitingPrefix = `${base}:waiting:`;
  const rateHeldPrefix = `${base}:rate-held:`;
  const rateWakingPrefix = `${base}:rate-waking:`;
  return {
    layout: layoutKey(prefix, queue),
    rate: `${base}:rate`,
    gaps: `${base}:gaps`,
    key: (k) => keyPrefix + k,
    running: (k) => runningPrefix + k,
    waiting: (k) => waitingPrefix + k,
    rateHeld: (k) => rateHeldPrefix + k,
    rateWaking: (k) => rateWakingPrefix + k,
    keys: `${base}:keys`,
    keyPrefix,
    runningPrefix,
    waitingPrefix,
    rateHeldPrefix,
    rateWakingPrefix,
  };
}

/**
 * Prefix of a shard's `limit-woken:<id>` strings: a job woken for a free running slot while
 * its worker was still giving its slot away (wake.lua before hold.lua): the hold then sends it
 * back at once instead of waiting for its fallback due time. Under the shard's tag.
 */
export function limitWokenPrefix(keys: QueueKeys): string {
  return `${keys.meta.slice(0, -":meta".length)}:limit-woken:`;
}
