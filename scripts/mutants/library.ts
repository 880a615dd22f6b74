// The mutants of the library's hunt (hunter l): Courier embedded through lib/index.ts, misused
// as a plain-JavaScript caller would (an async validate, a logger's odd fields, …).
import { type Mutant, m } from "./mutant.ts";

const T = (name: string) => `tests/${name}.test.ts`;
const D = "[Symbol.asyncDispose](): Promise<void> {\n    return ";

// biome-ignore format: a table, one mutant to three lines
export const libraryMutants: Mutant[] = [
  m("validate-promise-taken", "lib/task-check.ts", "a task's validate or limitKey that returns a promise is refused (InputError), not enqueued as the payload `{}`",
    "  if (typeof then !== \"function\") return value;", "  return value;", [T("queue.enqueue"), T("testing.runtask")]),
  m("validate-promise-rejection-loose", "lib/task-check.ts", "the refused promise's rejection is caught: no unhandled rejection ends the caller's process",
    "  callQuietly(() => then.call(value, undefined, () => {}));\n", "", [T("queue.enqueue")]),
  m("runtask-payload-unchecked", "lib/testing.ts", "runTask takes a payload under the enqueue's rule: NaN, a BigInt, a function is the enqueue's InputError",
    "JSON.parse(payloadJson(checked))", "JSON.parse(JSON.stringify(checked ?? null))", [T("testing.runtask")]),
  m("log-field-error-empty", "lib/log.ts", "an Error in a log field is written as its text, not as JSON's `{}`",
    "    if (value instanceof Error) return errorText(value);\n", "", [T("log.fields")]),
  m("log-field-bigint-lost", "lib/log.ts", "a BigInt in a log field is written as its digits, not the line lost",
    "    if (typeof value === \"bigint\") return value.toString();\n", "", [T("log.fields")]),
  m("log-field-cycle-lost", "lib/log.ts", "an object that contains itself in a log field is written with [Circular], not the line lost",
    "    if (ancestors.includes(value)) return \"[Circular]\";\n", "", [T("log.fields")]),
  m("log-field-shared-circular", "lib/log.ts", "one object met twice side by side is no cycle: written whole both times",
    "    while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();\n", "", [T("log.fields")]),
  m("log-line-lost-on-throwing-field", "lib/log.ts", "a field that cannot be written (a getter that throws) leaves the event's line written",
    "        text = line(level, event, writableFields(fields));", "        throw new Error(\"lost\");", [T("log.fields")]),
  m("log-fallback-fields-dropped", "lib/log.ts", "a field that cannot be written is its own \"not written\": the line keeps the others (a ctx.log's job and task)",
    "        text = line(level, event, writableFields(fields));", "        text = line(level, event, { fields: \"not written\" });", [T("log.fields")]),
  m("ctx-log-getter-fails-task", "lib/worker/context.ts", "ctx.log given a field whose getter throws logs the others: the task goes on, not failed by its log line",
    "      bound = { ...writableFields(fields), job: id, task };", "      bound = { ...fields, job: id, task };", [T("testing.runtask")]),
  m("dispose-queue-open", "lib/queue/queue.ts", "`await using` a Queue closes it as the block ends",
    `${D}this.close();`, `${D}Promise.resolve();`, [T("library.dispose")]),
  m("dispose-admin-open", "lib/admin/admin.ts", "`await using` an Admin closes it as the block ends",
    `${D}this.close();`, `${D}Promise.resolve();`, [T("library.dispose")]),
  m("dispose-schedules-open", "lib/schedule/schedules.ts", "`await using` a Schedules closes it as the block ends",
    `${D}this.close();`, `${D}Promise.resolve();`, [T("library.dispose")]),
  m("dispose-worker-running", "lib/worker/worker-stop.ts", "`await using` a Worker stops it as the block ends",
    `${D}this.stop();`, `${D}Promise.resolve();`, [T("library.dispose")]),
  m("dispose-scheduler-running", "lib/schedule/scheduler.ts", "`await using` a scheduler stops it as the block ends",
    "return { stop, [Symbol.asyncDispose]: stop };", "return { stop, [Symbol.asyncDispose]: async () => {} };", [T("library.dispose")]),
  m("dispose-dashboard-serving", "lib/dashboard/server.ts", "`await using` a dashboard stops it as the block ends",
    "    [Symbol.asyncDispose]: stop,", "    [Symbol.asyncDispose]: async () => {},", [T("library.dispose")]),
  m("task-elsewhere-key-taken", "lib/task-check.ts", "a job's or a worker's key on a task (maxAttempts, concurrency) is refused, not dropped for the queue's default",
    "  const elsewhere = elsewhereKey(t);", "  const elsewhere = undefined as [string, string] | undefined;", [T("options.checks")]),
  m("task-elsewhere-respelt-taken", "lib/task-check.ts", "a job's key on a task spelt another way (max_attempts, delay) is refused too",
    "ELSEWHERE_KEYS.includes(key) ? key : respelt(key, ELSEWHERE_KEYS);", "ELSEWHERE_KEYS.includes(key) ? key : undefined;", [T("options.checks")]),
  m("create-queue-keys-unchecked", "lib/admin/admin.ts", "Admin.createQueue refuses a key it does not take ({ shard: 6 } made a queue of one shard, for good)",
    "    checkCallOptions(options, \"createQueue\", [\"shards\"]);\n", "", [T("admin.create")]),
  m("thrown-object-message-lost", "lib/errors.ts", "a plain object thrown ({ code, message }) is described by its message, not [object Object]",
    "    return text === \"[object Object]\" ? (messageOf(err) ?? text) : text;", "    return text;", [T("worker.throws")]),
  m("log-format-unchecked", "lib/log.ts", "createLogger refuses a format it does not write (\"JSON\" wrote human lines unsaid)",
    "  if (format !== \"human\" && format !== \"json\") {", "  if (false) {", [T("log.fields")]),
  m("log-write-unchecked", "lib/log.ts", "createLogger refuses a write or now that is no function (every line lost in a guarded logger)",
    "    if (typeof f !== \"function\")\n", "    if (false)\n", [T("log.fields")]),
];
