// The mutants of the batch CLI and its summary (`trigger --then/--summary`, issue 14 part C):
// each a small deliberate bug the batch tests must catch (README, "A batch and its callback").
import { type Mutant, m } from "./mutant.ts";

const T = (name: string) => `tests/${name}.test.ts`;
const MERGE = "lib/tasks/wordcount/merge.ts";
const SUMMARY = "lib/tasks/wordcount/summary.ts";
const BATCH = "lib/cli/trigger-batch.ts";

// biome-ignore format: a table, one mutant to three lines
export const batchMutants: Mutant[] = [
  m("batch-enqueued-hole-taken", "lib/queue/call-args.ts", "enqueueBatch's enqueued holding undefined (a hole) is refused, not taken as no parent",
    "enqueued.findIndex((id) => typeof id !== \"string\" ||", "enqueued.findIndex((id) => id !== undefined && typeof id !== \"string\" ||", [T("flows.batch.expired")]),
  m("callback-earlier-said-runs", BATCH, "a run again of an --id-from-url batch says how the earlier run's callback stands, not that it runs",
    "const earlier = created ? undefined : await queue.getJob(id);", "const earlier = undefined;", [T("trigger.batch.callback-id")]),
  m("callback-earlier-json-created", BATCH, "--json says created false for the earlier run's callback",
    "return safeJson({ callback: id, task: then.task, jobs, created });", "return safeJson({ callback: id, task: then.task, jobs, created: true });", [T("trigger.batch.callback-id")]),
  m("batch-callback-created-always", "lib/queue/batch.ts", "enqueueBatch says whether its callback was added or already existed",
    "return { ids, callbackId: done.id, callbackCreated: done.created };", "return { ids, callbackId: done.id, callbackCreated: true };", [T("trigger.batch.callback-id")]),
  m("window-source-error-drops-flight", "lib/queue/window.ts", "a source that throws still has the batches in flight reported before its error",
    "(e: unknown) => ({ pullFailed: e })", "(e: unknown) => Promise.reject(e)", ["tests/queue.enqueue.window.test.ts"]),
  m("summary-merge-prune-drops-only", MERGE, "a bounded merge never loses a word counted more than W/(capacity+1)",
    "else this.counts.set(word, count - cut);", "else this.counts.set(word, count);", [T("wordcount.summary")]),
  m("summary-merge-unbounded", MERGE, "the merge holds at most twice its capacity in words",
    "if (this.counts.size > 2 * this.capacity) this.prune();", "", [T("wordcount.summary")]),
  m("summary-words-last-page", SUMMARY, "the summary's words add up every counted page",
    "this.words += page.words;", "this.words = page.words;", [T("wordcount.summary"), T("trigger.batch.summary")]),
  m("summary-failed-counted", SUMMARY, "a page whose job did not finish is not counted",
    'const page = outcome.status === "finished" ? wordCountOf(outcome.result) : null;',
    "const page = wordCountOf(outcome.result);", [T("wordcount.summary")]),
  m("callback-after-stop", "bin/trigger.ts", "a batch stopped part-way says it has no callback",
    "if (then && (report.stopped || halted || cut !== null)) {",
    "if (false) {", [T("trigger.batch.full")]),
  m("batch-reads-past-bound", "bin/trigger.ts", "trigger stops reading a batch's lines once past the most a callback waits for",
    "batch?.check();", "", [T("trigger.batch.cli")]),
  m("callback-id-not-chosen", BATCH, "a callback whose enqueue may have been done is named, and a run again with --id-from-url adds no second",
    "if (!idFromUrls) return Bun.randomUUIDv7();", "return Bun.randomUUIDv7();", [T("trigger.batch.lost-reply")]),
  m("callback-id-ids-only", BATCH, "another --then over the same file with --id-from-url is another callback",
    "const callback = JSON.stringify([then.task, then.payload ?? null]);", 'const callback = "";', [T("trigger.batch.callback-id")]),
  m("linger-never-cuts", "lib/queue/cut.ts", "a batch a waiting source keeps goes out after lingerMs, not once full",
    "lingerMs !== undefined && Symbol.asyncIterator in items", "false", [T("queue.enqueue.linger")]),
  m("linger-stalled-step-lost", "lib/queue/linger.ts", "the source's step under way when a batch went out short is the next one's, not dropped",
    "      this.#kept = step;\n", "", [T("queue.enqueue.linger")]),
  m("linger-clock-per-step", "lib/queue/linger.ts", "a batch is cut once it has waited lingerMs, not when one step took that long",
    "    if (batch !== this.#for) {", "    if (true) {", [T("queue.enqueue.linger")]),
  m("linger-stream-not-passed", "lib/queue/queue.ts", "Queue.enqueueStream lingers for an async source",
    "const lingers = Symbol.asyncIterator in specs;", "const lingers = false;", [T("queue.enqueue.linger")]),
  m("many-parents-checked-late", "lib/queue/batch.ts", "enqueueMany with an unknown parent enqueues nothing, not the jobs listed before it",
    "  await s.checkParents(parentsFromOutside(prepared));\n", "", [T("flows.engine")]),
  m("many-earlier-parent-unknown", "lib/queue/batch.ts", "a parent listed before its child in the same call is known by the time the child goes",
    "    if (p.job.id !== undefined) given.add(p.job.id);\n", "", [T("flows.engine")]),
  m("callback-exit-ignores-failed-pages", BATCH, "--summary --wait exits 1 when a page was not counted",
    "if (isSummary(record.result) && record.result.failed > 0) return EXIT.failed;", "", [T("trigger.batch.cli")]),
];
