// Which nodes of a Redis Cluster client are down, and when to ask for the layout again
// (cluster-life.ts). node-redis asks only for nodes that were ready once, every 500 ms for
// ever; here a node that never answered counts too (a master killed before this client first
// reached it: without a new layout, a command for its slots would wait for good), and the asks
// back off while a node stays down (each opens a connection to a node that answers).

/** The first ask for a layout this long after a node went down; then doubling. */
export const REFRESH_FIRST_MS = 500;
/** Longest wait between two asks while a node stays down (a master with no replica). */
export const REFRESH_MAX_MS = 30_000;

/** What is used of node-redis' cluster slots: the layout asked again, the nodes known. */
export interface Layout {
  rediscover(startWith: undefined, excluded: Set<string>): Promise<void>;
  readonly nodeByAddress: Map<string, unknown>;
}

export class DownNodes {
  /** Addresses down now (their connection failed and has not been ready since). */
  readonly #down = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #delayMs = REFRESH_FIRST_MS;
  #closed = false;

  constructor(
    private readonly layout: () => Layout,
    /** A node left the down set (ready again, or no longer in the layout). */
    private readonly onBack: (address: string) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  get size(): number {
    return this.#down.size;
  }

  has(address: string): boolean {
    return this.#down.has(address);
  }

  /** A node's connection failed: true when it was up until now. */
  down(address: string): boolean {
    if (this.#closed || this.#down.has(address)) return false;
    this.#down.add(address);
    this.#schedule();
    return true;
  }

  /** A node's connection is ready. */
  up(address: string): void {
    if (this.#down.delete(address)) this.onBack(address);
    if (this.#down.size === 0) this.#reset();
  }

  /** Nodes the layout no longer has (a failed-over master) are no longer down. */
  prune(): void {
    const known = this.layout().nodeByAddress;
    for (const address of [...this.#down]) if (!known.has(address)) this.up(address);
  }

  close(): void {
    this.#closed = true;
    this.#down.clear();
    this.#reset();
  }

  #reset(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#delayMs = REFRESH_FIRST_MS;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => void this.#refresh(), this.#delayMs);
    this.#timer.unref?.(); // a CLI's process must not live on for it
  }

  async #refresh(): Promise<void> {
    this.#delayMs = Math.min(this.#delayMs * 2, REFRESH_MAX_MS);
    try {
      await this.layout().rediscover(undefined, new Set(this.#down));
    } catch (err) {
      this.onError(err);
    }
    this.#timer = undefined;
    this.prune();
    if (this.#down.size > 0) this.#schedule();
  }
}
