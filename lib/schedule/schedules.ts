// Recurring schedules, the library's view (README, "Recurring schedules"; `schedule.ts`, the
// dashboard and `info` use it): add, list, pause, resume, remove. Writes go through
// schedule-save.lua, so a definition and its next tick never disagree; every time is Redis'.

import { defaults } from "../config.ts";
import { scheduleKeys } from "../engine/keys.ts";
import { saveSchedule } from "../engine/schedule.ts";
import { CourierError, InputError } from "../errors.ts";
import { checkEntryKeys, resolveOptions } from "../options.ts";
import { checkBoolean, checkObject } from "../queue/call-args.ts";
import { redisNowMs } from "../redis/clock.ts";
import { closeClient } from "../redis/close.ts";
import type { Redis } from "../redis/connect.ts";
import { CallGate } from "../redis/gate.ts";
import { connectService } from "../redis/service-client.ts";
import { shownId } from "../safe-text.ts";
import {
  countNames,
  defPages,
  ensureIndex,
  queuePages,
  READ_PAGE,
  readNamed,
  type ScheduleInfo,
  type SkipQueue,
} from "./read.ts";
import { replaceSchedule, swapSchedule } from "./replace.ts";
import { sameSchedule } from "./same.ts";
import {
  checkName,
  checkPagesArgs,
  checkQueueArg,
  checkSpec,
  parseDef,
  type ScheduleDef,
  type ScheduleSpec,
} from "./spec.ts";
import { firstTick } from "./ticks.ts";

export type { ScheduleInfo, SkipQueue } from "./read.ts";

export interface SchedulesConfig {
  redisUrl?: string;
  prefix?: string;
  /** The queue of a schedule that names none (default `default`). */
  queue?: string;
  /** As QueueOptions.commandTimeoutMs (default 10000). */
  commandTimeoutMs?: number;
}

/** Schedules.connect's keys (each in ENTRY_KEYS: tests/options.entry.test.ts). */
export const SCHEDULES_KEYS: readonly (keyof SchedulesConfig)[] = [
  "redisUrl",
  "prefix",
  "queue",
  "commandTimeoutMs",
];

export class Schedules {
  readonly #keys;
  #owner = false;
  /** Closed by close(): calls refused after it, those under way get their replies. */
  readonly #gate = new CallGate("Schedules", "Schedules.connect");
  /** Its own connection's URL: calls then fail as a Queue's do (ConnectError naming it). */
  #url?: string;

  /** On a connection of yours (an Admin's, a Queue's): close() leaves it open. */
  constructor(
    readonly client: Redis,
    readonly prefix: string = defaults.prefix,
    readonly queue: string = defaults.queue,
  ) {
    resolveOptions({ prefix, queue }); // the names' rules, as for a connection of its own
    this.#keys = scheduleKeys(prefix);
  }

  /** Connects (ConnectError naming the URL, password masked, and the cause). */
  static async connect(config: SchedulesConfig = {}): Promise<Schedules> {
    checkEntryKeys(config); // an object (null: ConfigError, as Admin.connect's), keys known
    const url = config.redisUrl ?? process.env.REDIS_URL ?? defaults.redisUrl;
    // The names and the limit checked as a Queue's are: a prefix outside the rule puts keys
    // beyond every valid prefix (or takes over the hash tag), ticks where no worker reads.
    const o = resolveOptions({ ...config, redisUrl: url });
    // As an Admin: reconnects in the background, and fails calls at once while Redis is down.
    const client = await connectService(o, "courier-schedules");
    const s = new Schedules(client, o.prefix, o.queue);
    s.#owner = true;
    s.#url = url;
    return s;
  }

  /**
   * Adds a schedule (checked first: InputError, nothing written). `created` false: one of that
   * name existed with the same definition (nothing changed); with another one it is refused
   * unless `replace` (its ticks then count from now; a paused one stays paused).
   */
  async add(
    spec: ScheduleSpec,
    o: { replace?: boolean } = {},
  ): Promise<ScheduleInfo & { created: boolean }> {
    const checked = checkSpec(spec, this.queue);
    // `replace: "no"` (or "yes" for the options: a String has .replace) replaced the schedule.
    checkObject(o, "add", ["replace"]);
    checkBoolean(o.replace, "add's replace");
    return this.#call(() => this.#add(spec, checked, o));
  }

  async #add(
    spec: ScheduleSpec,
    checked: ReturnType<typeof checkSpec>,
    o: { replace?: boolean },
  ): Promise<ScheduleInfo & { created: boolean }> {
    const now = await redisNowMs(this.client);
    const def: ScheduleDef = { ...checked, created_at: now };
    const next = firstTick(def, now);
    const json = JSON.stringify(def);
    const queue = def.queue;
    if (await saveSchedule(this.client, this.#keys, spec.name, { op: "add", json, next, queue })) {
      return { name: spec.name, def, next, created: true };
    }
    const [old] = await readNamed(this.client, this.#keys, [spec.name]);
    if (old?.def && sameSchedule(old.def, def)) return { ...old, created: false };
    if (!o.replace) {
      throw new InputError(
        `schedule ${spec.name} exists with another definition: remove it first, or replace it (add's replace: true, schedule add --replace)`,
      );
    }
    return replaceSchedule(this.client, this.#keys, spec.name, def);
  }

  /**
   * Every schedule (a definition Courier did not write too), or `queue`'s, by name, in one
   * array: its memory grows with the count (`pages` holds a page at a time).
   */
  async list(queue?: string): Promise<ScheduleInfo[]> {
    if (queue !== undefined) checkQueueArg(queue, "list"); // named as this call, not pages'
    const all: ScheduleInfo[] = [];
    for await (const page of this.pages(queue)) all.push(...page);
    return queue === undefined ? all.sort((a, b) => (a.name < b.name ? -1 : 1)) : all;
  }

  /**
   * The schedules a page at a time (at most `size`): `queue`'s by name, read by its `names`
   * index (no other queue's schedule is read); without a queue, every one, in no order but
   * each page by name (HSCAN of the definitions). Given `skip`, a queue whose `names` or
   * `next` key holds another type is left out and told there; else its WRONGTYPE is thrown.
   */
  async *pages(queue?: string, size = READ_PAGE, skip?: SkipQueue): AsyncGenerator<ScheduleInfo[]> {
    checkPagesArgs(queue, size, skip, READ_PAGE);
    const read = this.#pages(queue, size, skip);
    for (;;) {
      const page = await this.#call(() => read.next());
      if (page.done) return;
      yield page.value;
    }
  }

  async *#pages(
    queue?: string,
    size = READ_PAGE,
    skip?: SkipQueue,
  ): AsyncGenerator<ScheduleInfo[]> {
    const k = this.#keys;
    if (queue === undefined) {
      for await (const pairs of defPages(this.client, k, size)) {
        const got = await readNamed(
          this.client,
          k,
          pairs.map(([name]) => name),
          pairs.map(([, def]) => def),
          skip,
        );
        yield got.filter((s): s is ScheduleInfo => s !== undefined);
      }
      return;
    }
    await ensureIndex(this.client, k);
    yield* queuePages(this.client, k, queue, size, skip);
  }

  /** How many schedules `queue` has (paused ones too), from its index: one call. */
  async count(queue: string): Promise<number> {
    checkQueueArg(queue, "count");
    return this.#call(async () => {
      await ensureIndex(this.client, this.#keys);
      return countNames(this.client, this.#keys, queue);
    });
  }

  /** One schedule, or null. */
  async get(name: string): Promise<ScheduleInfo | null> {
    checkName(name, "get");
    return this.#call(async () => {
      const [found] = await readNamed(this.client, this.#keys, [name]);
      return found ?? null;
    });
  }

  /** Removes a schedule; false when there was none. Jobs it enqueued are left alone. */
  async remove(name: string): Promise<boolean> {
    checkName(name, "remove");
    return this.#call(() => saveSchedule(this.client, this.#keys, name, { op: "remove" }));
  }

  /** Pauses a schedule (no tick fires until resumed); false when it was paused already. */
  async pause(name: string): Promise<boolean> {
    checkName(name, "pause");
    return this.#call(() => this.#setPaused(name, true));
  }

  /**
   * Resumes a schedule: its next tick is the first after now (ticks of the pause never fire);
   * false when it was running already.
   */
  async resume(name: string): Promise<boolean> {
    checkName(name, "resume");
    return this.#call(() => this.#setPaused(name, false));
  }

  async close(): Promise<void> {
    if (this.#owner) await closeClient(this.client, undefined, this.#gate.close());
  }

  /** `await using schedules = await Schedules.connect(…)`: closed as the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** One call: refused once closed; on its own connection, mapped as a Queue's (calls.ts). */
  #call<T>(fn: () => Promise<T>): Promise<T> {
    return this.#gate.call(fn, this.#url);
  }

  async #setPaused(name: string, paused: boolean): Promise<boolean> {
    const doing = paused ? "paused" : "resumed";
    const done = await swapSchedule(this.client, this.#keys, name, doing, async (stored) => {
      if (stored === null)
        throw new CourierError("ENOTFOUND", `no schedule ${shownId(name)} (prefix ${this.prefix})`);
      const def = parseDef(stored);
      if (def === null)
        throw new InputError(
          `schedule ${shownId(name)} has a definition Courier did not write: remove it`,
        );
      if (def.paused === paused) return null;
      const next = paused ? null : firstTick(def, await redisNowMs(this.client));
      return { json: JSON.stringify({ ...def, paused }), next, queue: def.queue };
    });
    return done !== null;
  }
}
