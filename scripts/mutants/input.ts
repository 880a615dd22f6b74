// The mutants of R91's findings fixed on h-94: a password on a child's command line, a number
// JSON cannot carry stored as null, a stray word run as if absent, a route id decoded twice, a
// URL's query, fragment, stray @ or odd database taken, an unusable dashboard token, a duration
// with a unit twice, --health-host alone, bytes that are not UTF-8 read as U+FFFD.
import { type Mutant, m } from "./mutant.ts";

const T = (name: string) => `tests/${name}.test.ts`;
const URL_TS = "lib/redis/url.ts";
const INPUT = "lib/cli/input.ts";

// biome-ignore format: a table, one mutant to three lines
export const inputMutants: Mutant[] = [
  m("stack-url-not-in-env", "lib/stack/_supervised.ts", "a stack's children get its Redis URL in REDIS_URL, not on their command line",
    "return { ...parent, ...extra, REDIS_URL: url, [REDIS_URL_FROM]: \"stack\" };", "return { ...parent, ...extra, [REDIS_URL_FROM]: \"stack\" };", [T("stack"), T("stack.secrets")]),
  m("payload-nonfinite-stored", "lib/queue/prepare.ts", "a payload with NaN or Infinity is refused, not stored with null",
    "if (lost) throw new InputError(lost);", "", [T("payload.numbers")]),
  m("payload-nonfinite-null-shortcut", "lib/queue/payload-numbers.ts", "only a payload whose JSON has a null can hold NaN or Infinity",
    "if (!json.includes(\"null\")) return undefined;", "if (json.includes(\"null\")) return undefined;", [T("payload.numbers")]),
  m("payload-huge-number-taken", "lib/cli/trigger-job.ts", "a number beyond a double in --payload is refused, not read as Infinity",
    "if (huge !== -1) {", "if (false) {", [T("payload.numbers")]),
  m("payload-huge-number-in-string", "lib/cli/json-error.ts", "a number inside a JSON string is text, not a number out of range",
    "if (c === '\"') {", "if (false) {", [T("payload.numbers")]),
  m("word-to-optionless-command", "lib/cli/args.ts", "a word given to a command that takes options only is refused",
    "if (!takesWords) throw new ConfigError(unexpected(arg));", "", [T("cli.positionals")]),
  m("word-after-dashdash", "lib/cli/args.ts", "a word after -- to a command that takes options only is refused",
    "if (!takesWords && after !== undefined) throw new ConfigError(unexpected(after));", "", [T("cli.positionals")]),
  m("route-id-decoded-twice", "lib/dashboard/routes.ts", "a route's id is percent-decoded once: %2541 is \"%41\"",
    "id = decodeURIComponent(raw);", "id = decodeURIComponent(decodeURIComponent(raw));", [T("dashboard.routes")]),
  m("route-method-404", "lib/dashboard/routes.ts", "a method a route does not take is 405 with Allow, not 404",
    "if (!allow) return api.json({ error: \"not found\" }, 404);", "return api.json({ error: \"not found\" }, 404);", [T("dashboard.routes")]),
  m("url-query-taken", URL_TS, "a Redis URL with a query or a fragment is refused",
    "if (cut !== -1) {", "if (false) {", [T("redis.url")]),
  m("url-stray-at-taken", URL_TS, "a Redis URL with an @ after its authority is refused, unshown",
    "if (url.lastIndexOf(\"@\") >= authorityEnd(url, head)) {", "if (false) {", [T("redis.url")]),
  m("url-mask-last-at", URL_TS, "maskUrl shows the host dialled: an @ after the authority is no end of credentials",
    "if (!isClusterUrl(url) && at >= authorityEnd(url, head.length)) return", "if (false) return", [T("redis.url"), T("connect")]),
  m("url-db-number", URL_TS, "the URL's database is decimal digits: not 0x1 or 1e1",
    "if (db === \"\" || (/^\\d{1,10}$/.test(db) && Number(db) <= DB_MAX)) return;", "if (db === \"\" || !Number.isNaN(Number(db))) return;", [T("redis.url")]),
  m("url-db-hint-lost", "lib/redis/cause.ts", "SELECT's refusal names the databases setting",
    "return /^ERR DB index is out of range/.test(message)", "return /^never/.test(message)", [T("redis.url")]),
  m("token-whitespace-taken", "lib/dashboard/options.ts", "a dashboard token with whitespace at either end is refused",
    "if (token !== token.trim()) {", "if (false) {", [T("dashboard.token")]),
  m("duration-unit-twice", "lib/admin/duration.ts", "a duration gives each unit once, largest first",
    "if (size >= last) {", "if (size === last) {", [T("dead.duration")]),
  m("health-host-alone", "bin/worker.ts", "--health-host without --health-port is refused",
    "if (healthHost !== undefined && healthPort === undefined) {", "if (false) {", [T("worker.health-args")]),
  m("input-utf8-lenient", INPUT, "bytes that are not UTF-8 are refused, not read as U+FFFD",
    "const UTF8 = new TextDecoder(\"utf-8\", { fatal: true });", "const UTF8 = new TextDecoder(\"utf-8\");", [T("input.utf8")]),
  m("input-cut-inside-char", INPUT, "an overlong line is cut between characters",
    "while (at > 0 && (bytes[at]! & 0xc0) === 0x80) at--; // not inside a character", "", [T("input.utf8")]),
  m("input-cut-rest-appended", INPUT, "the rest of a cut line is passed over, not appended to it",
    "const nl = cutOff ? chunk.indexOf(NEWLINE) : 0;", "const nl = 0;", [T("input.utf8")]),
  m("trigger-line-error-ignored", "lib/cli/trigger.ts", "a line that is not UTF-8 is refused on its own",
    "if (l.error !== undefined) throw new Error(l.error);", "", [T("input.utf8")]),
  m("payload-file-not-utf8", "lib/cli/trigger-job.ts", "a payload file that is not UTF-8 is refused naming the line",
    "if (bad !== undefined) {", "if (false) {", [T("input.utf8")]),
  m("stack-child-told-to-unset", "lib/cli/url-source.ts", "a stack's child is not told to unset the REDIS_URL the stack set",
    "  if (!fromEnv || env[REDIS_URL_FROM] === \"stack\" || !(err instanceof ConnectError)) return \"\";",
    "  if (!fromEnv || !(err instanceof ConnectError)) return \"\";", ["tests/cli.exitcodes.test.ts"]),
  m("trigger-task-wait-unnoted", "lib/cli/trigger-output.ts", "trigger --task --wait says when no live worker has the task (the wait would not end)",
    "if (task !== undefined) await noLiveWorkerNote(", "if (false) await noLiveWorkerNote(", [T("trigger.task")]),
  m("live-task-note-always", "lib/cli/live-task.ts", "trigger says no live worker has a task only when none has it",
    "if (await liveWorkerHas(queue, task)) return;", "if (false) return;", [T("trigger.task")]),
  m("help-padding-kept", "bin/_cli.ts", "--help pads no line with trailing spaces (a terminal wraps them into empty rows)",
    "const trimmed = text.replace(/[ \\t]+((?:\\x1b\\[[0-9;]*m)*)$/gm, \"$1\");", "const trimmed = text;", [T("cli.hardening")]),
  m("stack-says-starting-then-refuses", "lib/stack/_stack-redis.ts", "a stack refuses a data folder another live Redis uses before it says it starts a server",
    "  refuseSharedDataDir(resolve(options.dataDir));\n", "", [T("stack")]),
];
