// The entries whose outcome a worker wrote while one of its claims was out (lib/worker/claims.ts).
// A claim of own pending entries (after a lost read or a connection back) and the finish of a
// job it lists run on different connections: Redis may run the claim first, then the finish,
// and the finish's reply may come back first. The claim's reply then names an entry whose job
// has just ended here, neither running nor being written: without this log it would run again.

export interface WritesSeen {
  /** Entries written since track() was called. */
  readonly written: ReadonlySet<string>;
  /** Stop recording. */
  done(): void;
}

export class WrittenLog {
  /** One set per claim out; none most of the time, so a write costs nothing. */
  #open = new Set<Set<string>>();

  track(): WritesSeen {
    const written = new Set<string>();
    this.#open.add(written);
    return { written, done: () => this.#open.delete(written) };
  }

  /** An outcome was written for `entryId` (its entry acknowledged, or kept for a rerun here). */
  add(entryId: string): void {
    for (const set of this.#open) set.add(entryId);
  }
}
