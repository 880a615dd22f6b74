// Which queue a request is about: `?queue=<name>`, else the one the dashboard was started
// with. A name must be a queue that exists under the prefix (Admin.exists: the same test that
// lists it), so a request cannot make the dashboard read, or connect for, queues that are not there.
import type { Admin } from "../admin/admin.ts";
import { QUEUE_NAME } from "../config.ts";
import { RedisRefusedError } from "../errors.ts";
import { Queue } from "../queue/queue.ts";

/** How long a queue's data format, once checked, is trusted by reads (actions check each time). */
export const FORMAT_RECHECK_MS = 10_000;

/**
 * How long the queues found by a scan are listed again: every page load asks for them, and a
 * SCAN of a keyspace of a million keys takes a second and more (R-190: 6 tabs loading at once
 * timed out). Requests under way meanwhile share one scan.
 */
export const QUEUES_FRESH_MS = 5_000;

/** Why a request's queue is refused. */
export type Refusal = { ok: false; status: number; error: string };

export class Queues {
  /** Producers for the queues triggered into, connected on first use. */
  #producers = new Map<string, Promise<Queue>>();
  /**
   * When each queue's data format was last found to be this Courier's (its `now`, ms). Reads
   * trust it for FORMAT_RECHECK_MS, so a format changed later (another Courier took the queue)
   * is refused within that time, without an HGET per request; actions check every time.
   */
  #readableAt = new Map<string, number>();
  /** The last scan for queues (its `now`, ms), or under way: served for QUEUES_FRESH_MS. */
  #listed: { atMs: number; names: Promise<string[]> } | null = null;

  constructor(readonly admin: Admin) {}

  get name(): string {
    return this.admin.options.queue;
  }

  /** The Admin of the queue the request names, or why not (400 bad name, 404 no such queue). */
  async resolve(url: URL): Promise<Admin | Refusal> {
    const name = url.searchParams.get("queue") || this.name;
    if (name === this.name) return this.#checked(this.admin);
    if (!QUEUE_NAME.test(name)) {
      return { ok: false, status: 400, error: "a queue name is 1-100 letters, digits or _.:-" };
    }
    const view = this.admin.forQueue(name);
    if (!(await view.exists())) {
      const prefix = this.admin.options.prefix;
      return { ok: false, status: 404, error: `no queue named ${name} under prefix ${prefix}` };
    }
    return this.#checked(view);
  }

  /** The queue's Admin once its data format is this Courier's (409 otherwise, as the CLIs refuse it). */
  async #checked(view: Admin): Promise<Admin | Refusal> {
    // Another data format: refused before anything of it is read.
    const refused = await this.readable(view).then(
      () => null,
      (err: unknown) => (err instanceof RedisRefusedError ? err : Promise.reject(err)),
    );
    return refused ? { ok: false, status: 409, error: refused.message } : view;
  }

  /**
   * Throws the RedisRefusedError of a queue whose data format is not this Courier's, checked
   * again once the last pass is FORMAT_RECHECK_MS old: every read, and each live snapshot (a
   * page open on the queue stops with the refusal the actions give).
   */
  async readable(view: Admin): Promise<void> {
    const name = view.options.queue;
    const now = this.admin.options.now();
    if (now - (this.#readableAt.get(name) ?? Number.NEGATIVE_INFINITY) < FORMAT_RECHECK_MS) return;
    this.#readableAt.delete(name); // a refusal is not trusted as a pass
    await view.checkFormat();
    this.#readableAt.set(name, now);
  }

  /**
   * Every queue under the prefix, the dashboard's own included (it may have no keys yet), as
   * found by a scan at most QUEUES_FRESH_MS old (a queue made since shows up within it). A key
   * whose name no queue may have (another program's key) is left out, as resolve() refuses it
   * (400).
   */
  list(): Promise<string[]> {
    const now = this.admin.options.now();
    if (this.#listed === null || now - this.#listed.atMs >= QUEUES_FRESH_MS) {
      const names = this.#scan();
      this.#listed = { atMs: now, names };
      // A failed scan is not served again: the next request scans anew.
      names.catch(() => {
        if (this.#listed?.names === names) this.#listed = null;
      });
    }
    return this.#listed.names;
  }

  async #scan(): Promise<string[]> {
    const found = (await this.admin.findQueues()).filter((name) => QUEUE_NAME.test(name));
    return found.includes(this.name) ? found : [this.name, ...found].sort();
  }

  /** A producer for the queue (for trigger), kept for the next time. */
  producer(admin: Admin): Promise<Queue> {
    const name = admin.options.queue;
    let q = this.#producers.get(name);
    if (!q) {
      q = Queue.connect({ ...admin.options, queue: name });
      q.catch(() => this.#producers.delete(name));
      this.#producers.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    const producers = await Promise.allSettled(this.#producers.values());
    await Promise.all([
      this.admin.close(),
      ...producers.map((p) => (p.status === "fulfilled" ? p.value.close() : undefined)),
    ]);
  }
}
