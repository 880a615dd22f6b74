// Entries taken without a plain read (docs/internals.md, "7. Claims"): lapsed leases of other workers
// (attempts counted from delivery counts, jobs that used them up buried) and this worker's own
// pending entries after a lost read reply. Owns claim.lua's KEYS/ARGV order and its reply.
import { MOVE_BYTES } from "../config.ts";
import type { Redis } from "../redis/connect.ts";
import { GROUP, HANDOVER_SUFFIX, MINUTES_KEPT, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export type Claimed =
  | {
      kind: "run";
      entry: string;
      /** Attempt this run is: `a` + deliveries so far (this one included). */
      attempt: number;
      runNo: number;
      hasRecord: boolean;
      /** The entry's fields as stored (t, p, a, m, and i, n, o when set). */
      fields: Record<string, string>;
      /** Whom the entry was pending on before: this worker itself in own mode. */
      previousOwner: string;
    }
  | {
      kind: "buried";
      entry: string;
      attempt: number;
      /** The job id ('' when the entry's `i` is not a valid id). */
      id: string;
    }
  /** The job has an outcome already (a duplicate entry): acknowledged, nothing to run. */
  | { kind: "done"; entry: string }
  /** Gone from the stream: dropped from the pending list, nothing to run. */
  | { kind: "deleted"; entry: string };

export interface ClaimReply {
  /** Where the next call goes on from; "0-0" when the scan ended. */
  cursor: string;
  claimed: Claimed[];
  /** Own mode: the name is held by another start (nothing was read; claim.lua). */
  taken?: boolean;
}

export interface ClaimOptions {
  consumer: string;
  /** The lease: entries idle at least this long are taken over. */
  minIdleMs: number;
  cursor?: string;
  count: number;
  /**
   * Most entry bytes a call reads (the entry that crosses it included; default MOVE_BYTES):
   * the reply carries them all. A call cut there answers a cursor to go on from.
   */
  bytes?: number;
  failureTtlS: number;
  deadMaxLen: number;
  eventsMaxLen: number;
}

/** entry, kind, attempt, then run number (run) or job id (buried), has record, fields, owner. */
type RawItem = [string, string, number?, (number | string)?, number?, string[]?, string?];

/**
 * Takes over entries of other consumers whose leases lapsed. Entries pending on `consumer`
 * itself (a predecessor under the same name) are not taken: readOwnPending reads those.
 */
export function claimLapsed(client: Redis, k: QueueKeys, o: ClaimOptions): Promise<ClaimReply> {
  return call(client, k, o, "others");
}

/**
 * This consumer's own pending entries, read without bumping their delivery counts; none, with
 * `taken`, when the name's hash names another start than `start` (a worker's token: name.lua).
 */
export function readOwnPending(
  client: Redis,
  k: QueueKeys,
  o: Pick<ClaimOptions, "consumer" | "cursor" | "count" | "bytes"> & { start?: string },
): Promise<ClaimReply> {
  return call(
    client,
    k,
    { minIdleMs: 0, failureTtlS: 0, deadMaxLen: 0, eventsMaxLen: 0, ...o },
    "own",
    o.start ?? "",
  );
}

async function call(client: Redis, k: QueueKeys, o: ClaimOptions, mode: string, start = "") {
  const keys = [k.stream, k.dead, k.events, k.stats, k.minutes, k.hasDependents, k.endedParents];
  keys.push(k.worker(o.consumer));
  const args = [k.resultPrefix, k.recordPrefix, GROUP, o.consumer, mode, o.minIdleMs];
  args.push(o.cursor ?? "0-0", o.count, o.failureTtlS, o.deadMaxLen, o.eventsMaxLen, MINUTES_KEPT);
  // At least 1: a call then always takes its first entry, so a scan moves on (as give-back).
  args.push(HANDOVER_SUFFIX, k.idSuffix, start, Math.max(1, o.bytes ?? MOVE_BYTES));
  type Reply = [string, RawItem[], string?];
  const [cursor, items, taken] = await runScript<Reply>(client, scripts.claim, keys, args);
  return { cursor, claimed: items.map(parseItem), ...(taken ? { taken: true } : {}) };
}

function parseItem([entry, kind, attempt, runNo, has, flat, owner]: RawItem): Claimed {
  if (kind === "buried") return { kind, entry, attempt: Number(attempt), id: String(runNo ?? "") };
  if (kind === "done") return { kind, entry };
  if (kind !== "run") return { kind: "deleted", entry };
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < (flat ?? []).length; i += 2) fields[flat![i]!] = flat![i + 1]!;
  return {
    kind,
    entry,
    attempt: Number(attempt),
    runNo: Number(runNo),
    hasRecord: has === 1,
    fields,
    previousOwner: owner ?? "",
  };
}
