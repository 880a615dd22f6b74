// Prefetch's mutants (scripts/mutants/list.ts appends them): each a small deliberate bug that
// breaks one guarantee of docs/internals.md, "2. Read" (Prefetch), and the tests that must
// catch it.
import { type Mutant, m } from "./mutant.ts";

const T = "tests/worker.prefetch.test.ts";

// biome-ignore format: a table, one mutant to three lines
export const prefetchMutants: Mutant[] = [
  m("prefetch-never-given-back", "lib/worker/prefetch.ts", "an entry held past prefetchWaitMs goes back to the queue for an idle worker",
    "const stale = paused() ? [] : slots.takeStale(now - o.prefetchWaitMs);",
    "const stale: Held[] = [];", [T]),
  m("prefetch-given-back-spends-attempt", "lib/engine/lua/include/readd.lua", "a given-back entry spends no attempt (a + deliveries - 1)",
    "local attempts = a and (a + p[4] - 1) or f.a or ''",
    "local attempts = a and (a + p[4]) or f.a or ''", [T, "tests/limits.held.test.ts"]),
  m("prefetch-held-starts-at-once", "lib/worker/loops.ts", "a prefetched entry waits for a free slot: never two tasks at once at concurrency 1",
    "this.#launch(run[i]!, \"read\", i >= slots);",
    "this.#launch(run[i]!, \"read\", false);", [T]),
  m("prefetch-none-asked", "lib/worker/loops.ts", "a worker of concurrency 1 reads one entry ahead while its job runs",
    "const ahead = idle || this.#prefetch === null ? 0 : this.#prefetch.room();",
    "const ahead = 0;", [T]),
];
