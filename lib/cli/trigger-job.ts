// `trigger --task NAME`: any task with a JSON payload (from --payload, or --payload-file, `-` =
// stdin), and when a job runs (--delay, --at) for every trigger. Checked before Redis is
// contacted: a mistake is one line and exit 2, with nothing enqueued.

import { createReadStream } from "node:fs";
import { parseDuration } from "../admin/duration.ts";
import { InputError } from "../errors.ts";
import { payloadDepthProblem } from "../queue/payload-depth.ts";
import { hasNonFinite } from "../queue/payload-numbers.ts";
import { shownInput } from "../safe-text.ts";
import { taskNameProblem as libraryTaskNameProblem } from "../task-check.ts";
import { checkReadable, decodeLines, readFailure } from "./input.ts";
import { hugeNumberAt, jsonSyntaxError, lineColumn } from "./json-error.ts";

/**
 * The largest payload --payload-file reads (1 MiB). A payload travels in the job's stream entry
 * and again in its outcome; a file of gigabytes (a wrong path, `/dev/zero`) must be refused
 * before it fills memory, not read to its end.
 */
export const PAYLOAD_FILE_MAX_BYTES = 1024 * 1024;

/** The longest delay, and the furthest --at: a year, as the library allows (JobSpec.delayMs). */
const YEAR_MS = 365 * 86_400_000;

/** Why `name` is no task name for `--task`, or undefined: the library's rule (lib/task-check.ts). */
export function taskNameProblem(name: string): string | undefined {
  if (name === "") return "--task needs a task name";
  return libraryTaskNameProblem(name);
}

/**
 * The payload given as text (`--payload`), parsed; its problem named in one line. The line
 * names where the text stops being JSON, never a piece of it: the text may be a file's (a
 * mistyped path, `/etc/shadow`), and JSON.parse's own message quotes it.
 */
export function parsePayload(text: string, from = "--payload"): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const error = jsonSyntaxError(text);
    const where = error ? `: ${error.why} at ${lineColumn(text, error.at)}` : "";
    // A bare word is most likely a string given without its quotes.
    const hint =
      from === "--payload" && /^[A-Za-z]/.test(text)
        ? `; a string needs its quotes: --payload '"text"'`
        : "";
    throw new InputError(`${from} is not JSON${where}${hint}`);
  }
  const tooDeep = payloadDepthProblem(value);
  if (tooDeep) throw new InputError(tooDeep);
  // A number beyond a double parses as ±Infinity: only then is the text scanned for where.
  const huge = hasNonFinite(value) ? hugeNumberAt(text) : -1;
  if (huge !== -1) {
    throw new InputError(
      `${from} has a number out of range at ${lineColumn(text, huge)}: JSON numbers must fit a double (about ±1.8e308)`,
    );
  }
  return value;
}

/** The payload in a file (`-` = standard input), at most PAYLOAD_FILE_MAX_BYTES, parsed. */
export async function readPayloadFile(path: string): Promise<unknown> {
  const where = path === "-" ? "standard input" : path;
  if (path !== "-") await checkReadable(path);
  const source = path === "-" ? process.stdin : createReadStream(path);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      // Stopped at the bound: the rest is never read (a pipe that goes on is destroyed by the caller).
      if (size > PAYLOAD_FILE_MAX_BYTES) {
        throw new InputError(
          `the payload in ${where} is over ${PAYLOAD_FILE_MAX_BYTES} bytes (1 MiB): keep big data elsewhere and pass a reference to it`,
        );
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read ${where}: ${readFailure(err)}`, { cause: err });
  }
  const text = utf8Text(Buffer.concat(chunks), where);
  if (text.trim() === "") throw new InputError(`no payload in ${where}: it is empty`);
  return parsePayload(text, `the payload in ${where}`);
}

/**
 * The file's text, decoded once. Never read with U+FFFD in place of bytes that are not UTF-8
 * (the job would run on what was not written): refused naming their line, which only then is
 * looked for line by line.
 */
function utf8Text(bytes: Uint8Array, where: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const bad = decodeLines(bytes).notUtf8?.values().next().value ?? 0;
    throw new InputError(`the payload in ${where} is not UTF-8 text: line ${bad + 1}`);
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** When a job runs: `delayMs` from now, or `runAt` (ms, Redis' clock); neither = now. */
export interface Schedule {
  delayMs?: number;
  runAt?: number;
}

/**
 * `--delay 10m` or `--at 2026-12-01T09:00Z` (not both). The bound of a year is checked here
 * against this host's clock, as the library does: it only catches a mistyped year; the due
 * time itself is judged on Redis' clock.
 */
export function scheduleOf(delay: string | undefined, at: string | undefined): Schedule {
  if (delay !== undefined && at !== undefined) {
    throw new InputError("give --delay or --at, not both");
  }
  if (delay !== undefined) {
    let ms: number;
    try {
      ms = parseDuration(delay);
    } catch (err) {
      throw new InputError(`--delay: ${(err as Error).message}`);
    }
    if (ms > YEAR_MS) throw new InputError(`--delay is at most a year (365d), got "${delay}"`);
    return { delayMs: ms };
  }
  if (at !== undefined) {
    const runAt = parseAt(at);
    if (runAt > Date.now() + YEAR_MS) {
      throw new InputError(`--at is at most a year ahead, got "${at}"`);
    }
    // A time past runs at once, before 1970 too: the epoch is as past on Redis' clock, and the
    // library takes no time before it.
    return { runAt: Math.max(runAt, 0) };
  }
  return {};
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?([Zz]|[+-]\d{2}:?\d{2})$/;

/**
 * An ISO 8601 time with its zone (`Z` or `±hh:mm`), in ms since the epoch. A time without a
 * zone is refused: this host's zone is not the worker's, nor the operator's intent on record.
 * Fields out of range (month 13, 31 April, 24:00) are refused, not rolled over as Date does.
 */
export function parseAt(text: string): number {
  const m = ISO.exec(text.trim());
  const refuse = () =>
    new InputError(
      `--at "${shownInput(text)}" is not a time: use ISO 8601 with a zone, e.g. 2026-12-01T09:00Z or 2026-12-01T10:00+01:00`,
    );
  if (!m) throw refuse();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((v) => Number(v ?? 0)) as number[];
  const ms = Number(`${m[7] ?? ""}00`.slice(0, 3));
  // Not Date.UTC: it takes years 0-99 for 1900-1999 (`0001-01-01` would be 1901).
  const back = new Date(0);
  back.setUTCFullYear(y!, mo! - 1, d);
  back.setUTCHours(h!, mi!, s!, ms);
  const utc = back.getTime();
  const same =
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo! - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi &&
    back.getUTCSeconds() === s;
  const offset = offsetMs(m[8]!);
  if (!same || offset === undefined) throw refuse();
  return utc - offset;
}

/** `Z` → 0, `+01:00` / `-0530` → the zone's offset from UTC in ms; undefined past ±23:59. */
function offsetMs(zone: string): number | undefined {
  if (zone === "Z" || zone === "z") return 0;
  const digits = zone.slice(1).replace(":", "");
  const [hours, minutes] = [Number(digits.slice(0, 2)), Number(digits.slice(2))];
  if (hours > 23 || minutes > 59) return undefined;
  return (zone[0] === "-" ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}
