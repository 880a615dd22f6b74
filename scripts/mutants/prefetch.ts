// Prefetch's mutants, and those of the slots a worker's shards and queues share and of its stop
// (scripts/mutants/list.ts appends them): each a small deliberate bug that breaks one guarantee
// of docs/internals.md, "2. Read" (Prefetch) or "8. Shutdown", and the tests that must catch it.
import { type Mutant, m } from "./mutant.ts";

const T = "tests/worker.prefetch.test.ts";
const B = "tests/worker.prefetch-bounds.test.ts";

// biome-ignore format: a table, one mutant to three lines
export const prefetchMutants: Mutant[] = [
  m("prefetch-never-given-back", "lib/worker/prefetch.ts", "an entry held past prefetchWaitMs goes back to the queue for an idle worker",
    "const stale = slots.takeStale(now - o.prefetchWaitMs);",
    "const stale: Held[] = [];", [T]),
  m("prefetch-given-back-spends-attempt", "lib/engine/lua/include/readd.lua", "a given-back entry spends no attempt (a + deliveries - 1)",
    "local attempts = unrun_attempts(f, p[4]) or ''",
    "local attempts = unrun_attempts(f, p[4] + 1) or ''", [T, "tests/limits.held.test.ts"]),
  m("prefetch-gives-back-shard-holds", "lib/worker/prefetch.ts", "a worker of several shards keeps an entry held for its slot past prefetchWaitMs (prefetch does not apply)",
    "    if (!this.on) return;\n",
    "", ["tests/worker.shards.test.ts"]),
  m("own-read-running-held", "lib/worker/lane-starts.ts", "an own read after a blip never holds the entry of a job running here (a stop would give it back as unstarted)",
    "    if (jobs.has(job.entryId) || jobs.held.has(job.entryId)) return;\n",
    "", ["tests/worker.queues.test.ts"]),
  m("stop-starts-meanwhile", "lib/worker/worker-stop.ts", "no job starts once Worker.stop() is called (not while the schedule loop's pass ends)",
    "      for (const shard of this.shardWorkers) shard.halt();\n",
    "", ["tests/worker.shutdown.test.ts"]),
  m("prefetch-held-starts-at-once", "lib/worker/lane-starts.ts", "a prefetched entry waits for a free slot: never two tasks at once at concurrency 1",
    "this.#launch(run[i]!, \"read\", i >= slots);",
    "this.#launch(run[i]!, \"read\", false);", [T]),
  m("prefetch-none-asked", "lib/worker/loops.ts", "a worker of concurrency 1 reads one entry ahead while its job runs",
    "const ahead = idle || this.prefetch === null ? 0 : this.prefetch.room();",
    "const ahead = 0;", [T]),
  m("prefetch-despite-key-hold", "lib/worker/shard-wiring.ts", "none is read ahead while the limiter may apply (a key hold made lately)",
    "refrain: () => this.memory.paused || p.limits?.mayApply() === true,",
    "refrain: () => this.memory.paused,", [B]),
  m("limiter-starts-beyond-slots", "lib/worker/limited.ts", "the limiter never starts a job beyond the worker's concurrency",
    "const full = action === \"start\" && this.d.full();",
    "const full = false;", ["tests/limits.gate.test.ts"]),
  m("prefetch-starts-while-given-back", "lib/worker/running.ts", "a held entry whose give-back is out never starts (an own re-read meanwhile)",
    "if (this.givingBack.size > 0 && this.givingBack.has(job.entryId)) return;",
    "", ["tests/worker.prefetch-race.test.ts"]),
  m("prefetch-lease-lost-kept", "lib/worker/running.ts", "a held entry whose lease another worker took never starts here",
    "      this.held.delete(entryId);\n      this.#canceledHeld.delete(entryId);",
    "      this.#canceledHeld.delete(entryId);", [B]),
  m("prefetch-stale-started", "lib/worker/slots.ts", "a held entry past prefetchWaitMs is given back, not started when a slot frees",
    "const cutoff = this.holdMs === null ? null : performance.now() - this.holdMs;",
    "const cutoff = null as number | null;", ["tests/worker.slots.held.test.ts"]),
  m("prefetch-stop-writes-run", "lib/worker/stop.ts", "a stop gives held entries back without a run written",
    "if (held.length === 0) return;",
    "return;", [B]),
  m("prefetch-timer-spins-paused", "lib/worker/prefetch.ts", "no give-back timer fires each ms while paused",
    "    if (paused()) {\n      this.#wasPaused = true;\n      return;\n    }\n",
    "    if (paused()) {\n      this.#wasPaused = true;\n      this.#arm(1);\n      return;\n    }\n", [B]),
  m("prefetch-given-back-while-full", "lib/worker/prefetch.ts", "a held entry is kept while Redis is full (a give-back writes a record)",
    "if (this.d.full?.()) {",
    "if (false) {", ["tests/worker.prefetch-full.test.ts"]),
  m("give-back-ignores-start", "lib/engine/lua/give-back.lua", "only the start that holds the name gives entries back",
    "if ok and holder and holder ~= ARGV[6] then",
    "if false then", ["tests/engine.give-back.test.ts"]),
];
