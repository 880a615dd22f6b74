// Recurring schedules, the library's view (README, "Recurring schedules"; `schedule.ts`, the
// dashboard and `info` use it): add, list, pause, resume, remove. Writes go through
// schedule-save.lua, so a definition and its next tick never disagree; every time is Redis'.
import { shownInput } from "../cli/safe-text.ts";
import { defaults } from "../config.ts";
import { scheduleKeys } from "../engine/keys.ts";
import { saveSchedule } from "../engine/schedule.ts";
import { CourierError, InputError } from "../errors.ts";
import { redisNowMs } from "../redis/clock.ts";
import { closeClient, connect, type Redis } from "../redis/connect.ts";
import { checkSpec, parseDef, type ScheduleDef, type ScheduleSpec } from "./spec.ts";
import { firstTick } from "./ticks.ts";

/** Schedules read per call by list/get (HMGET, ZMSCORE). */
const READ_CHUNK = 500;

export interface ScheduleInfo {
  name: string;
  /** The stored definition; null when it is not one Courier wrote (it never fires). */
  def: ScheduleDef | null;
  /**
   * The next run (ms since the epoch, Redis' clock): the next tick, or the retry time of one
   * backed off after failing to fire; null when paused or ended.
   */
  next: number | null;
}

export interface SchedulesConfig {
  redisUrl?: string;
  prefix?: string;
  /** The queue of a schedule that names none (default `default`). */
  queue?: string;
  /** As QueueOptions.commandTimeoutMs (default 10000). */
  commandTimeoutMs?: number;
}

/** How many times a pause or resume reads again after losing a race with another change. */
const SWAP_TRIES = 5;

export class Schedules {
  readonly #keys;
  #owner = false;

  /** On a connection of yours (an Admin's, a Queue's): close() leaves it open. */
  constructor(
    readonly client: Redis,
    readonly prefix: string = defaults.prefix,
    readonly queue: string = defaults.queue,
  ) {
    this.#keys = scheduleKeys(prefix);
  }

  /** Connects (ConnectError naming the URL, password masked, and the cause). */
  static async connect(config: SchedulesConfig = {}): Promise<Schedules> {
    const url = config.redisUrl ?? process.env.REDIS_URL ?? defaults.redisUrl;
    // As an Admin: reconnects in the background, and fails calls at once while Redis is down.
    const client = await connect(url, {
      name: "courier-schedules",
      persistent: true,
      failFast: true,
      answerMs: config.commandTimeoutMs,
    });
    const s = new Schedules(client, config.prefix ?? defaults.prefix, config.queue);
    s.#owner = true;
    return s;
  }

  /**
   * Adds a schedule (checked first: InputError, nothing written). `created` false: one of that
   * name existed with the same definition (nothing changed); with another one it is refused
   * unless `replace` (its ticks then count from now).
   */
  async add(
    spec: ScheduleSpec,
    o: { replace?: boolean } = {},
  ): Promise<ScheduleInfo & { created: boolean }> {
    const checked = checkSpec(spec, this.queue);
    const now = await redisNowMs(this.client);
    const def: ScheduleDef = { ...checked, created_at: now };
    const next = firstTick(def, now);
    const json = JSON.stringify(def);
    const queue = def.queue;
    if (await saveSchedule(this.client, this.#keys, spec.name, { op: "add", json, next, queue })) {
      return { name: spec.name, def, next, created: true };
    }
    const [old] = await this.#read([spec.name]);
    if (old?.def && sameSchedule(old.def, def)) return { ...old, created: false };
    if (!o.replace) {
      throw new InputError(
        `schedule ${spec.name} exists with another definition: remove it first, or replace it (--replace)`,
      );
    }
    await saveSchedule(this.client, this.#keys, spec.name, { op: "put", json, next, queue });
    return { name: spec.name, def, next, created: true };
  }

  /**
   * Every schedule (a definition Courier did not write too), by name; of `queue` only when
   * given, its definitions alone read (the `where` hash says which are the queue's).
   */
  async list(queue?: string): Promise<ScheduleInfo[]> {
    let names: string[];
    if (queue === undefined) {
      names = await this.client.sendCommand<string[]>(["HKEYS", this.#keys.defs]);
    } else {
      const flat = await this.client.sendCommand<string[]>(["HGETALL", this.#keys.where]);
      names = flat.filter((_name, i) => i % 2 === 0 && flat[i + 1] === queue);
    }
    const all = await this.#read(names.sort());
    return all.filter((s): s is ScheduleInfo => s !== undefined);
  }

  /** One schedule, or null. */
  async get(name: string): Promise<ScheduleInfo | null> {
    const [found] = await this.#read([name]);
    return found ?? null;
  }

  /** Removes a schedule; false when there was none. Jobs it enqueued are left alone. */
  remove(name: string): Promise<boolean> {
    return saveSchedule(this.client, this.#keys, name, { op: "remove" });
  }

  /** Pauses a schedule (no tick fires until resumed); false when it was paused already. */
  pause(name: string): Promise<boolean> {
    return this.#setPaused(name, true);
  }

  /**
   * Resumes a schedule: its next tick is the first after now (ticks of the pause never fire);
   * false when it was running already.
   */
  resume(name: string): Promise<boolean> {
    return this.#setPaused(name, false);
  }

  async close(): Promise<void> {
    if (this.#owner) await closeClient(this.client);
  }

  async #setPaused(name: string, paused: boolean): Promise<boolean> {
    for (let i = 0; i < SWAP_TRIES; i++) {
      const stored = await this.client.sendCommand<string | null>(["HGET", this.#keys.defs, name]);
      const def = parseDef(stored);
      if (stored === null)
        throw new CourierError(
          "ENOTFOUND",
          `no schedule ${shownInput(name)} (prefix ${this.prefix})`,
        );
      if (def === null)
        throw new InputError(`schedule ${name} has a definition Courier did not write: remove it`);
      if (def.paused === paused) return false;
      const next = paused ? null : firstTick(def, await redisNowMs(this.client));
      const json = JSON.stringify({ ...def, paused });
      const op = { op: "swap" as const, json, next, queue: def.queue, expected: stored };
      if (await saveSchedule(this.client, this.#keys, name, op)) return true;
    }
    throw new InputError(
      `schedule ${name} kept changing while it was ${paused ? "paused" : "resumed"}: try again`,
    );
  }

  /**
   * Definitions and next runs of `names` (a name without a definition: undefined there). A
   * schedule backed off after failing to fire shows its retry time: `info` marks it OVERDUE
   * only once nothing retries it. Read READ_CHUNK names a call: no reply grows with the count.
   */
  async #read(names: readonly string[]): Promise<(ScheduleInfo | undefined)[]> {
    const out: (ScheduleInfo | undefined)[] = [];
    for (let i = 0; i < names.length; i += READ_CHUNK) {
      out.push(...(await this.#readChunk(names.slice(i, i + READ_CHUNK))));
    }
    return out;
  }

  async #readChunk(names: readonly string[]): Promise<(ScheduleInfo | undefined)[]> {
    const k = this.#keys;
    const [defs, queues] = await Promise.all(
      [k.defs, k.where].map((key) =>
        this.client.sendCommand<(string | null)[]>(["HMGET", key, ...names]),
      ),
    );
    // Next runs: one ZMSCORE per queue (its schedules' zset), not a call per schedule.
    const byQueue = new Map<string, number[]>();
    queues!.forEach((queue, i) => {
      if (!queue) return;
      const at = byQueue.get(queue);
      if (at) at.push(i);
      else byQueue.set(queue, [i]);
    });
    const scores: (string | null)[] = names.map(() => null);
    await Promise.all(
      [...byQueue].map(async ([queue, at]) => {
        const got = await this.client.sendCommand<(string | null)[]>([
          "ZMSCORE",
          k.next(queue),
          ...at.map((i) => names[i]!),
        ]);
        at.forEach((i, j) => {
          scores[i] = got[j] ?? null;
        });
      }),
    );
    return names.map((name, i) => {
      const text = defs![i];
      if (text === null || text === undefined) return undefined;
      const score = scores[i];
      const next = score === null || score === undefined ? null : Number(score);
      return { name, def: parseDef(text), next };
    });
  }
}

/** The same schedule but for when it was made and whether it is paused. */
function sameSchedule(a: ScheduleDef, b: ScheduleDef): boolean {
  const strip = ({ created_at: _c, paused: _p, ...rest }: ScheduleDef) => JSON.stringify(rest);
  return strip(a) === strip(b);
}
