// Reading job inputs for bulk enqueue: one item per line, from a file or standard input.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { InputError } from "../errors.ts";

const CHUNK = 64 * 1024;

export interface Line {
  /** 1-based line number in the input. */
  line: number;
  text: string;
}

/** Non-blank lines that are not `#` comments, numbered as in the input. `-` reads stdin. */
export async function readLines(path: string): Promise<Line[]> {
  let text: string;
  try {
    text = path === "-" ? await Bun.stdin.text() : await Bun.file(path).text();
  } catch (err) {
    const why = (err as { code?: string }).code === "ENOENT" ? "no such file" : String(err);
    throw new InputError(`cannot read ${path}: ${why}`, { cause: err });
  }
  return splitLines(text);
}

/**
 * Like readLines, but streamed: memory stays bounded however long the input. The first `skip`
 * lines (counted as in the input, blank and comment lines included) are passed over, for a
 * resumed run. Yields arrays of lines, one per chunk read, to keep the per-line cost low.
 */
export async function* streamLines(path: string, skip = 0): AsyncGenerator<Line[]> {
  if (path !== "-") await checkReadable(path);
  // Chunks of 64 KiB: Bun.file().stream() reads 512 KiB at a time, tens of thousands of lines.
  // Standard input as a Node stream, so that the caller can destroy() it when it stops early
  // while the writer keeps the pipe open (a pending read would keep the process alive).
  const source = path === "-" ? process.stdin : createReadStream(path, { highWaterMark: CHUNK });
  const decoder = new TextDecoder();
  let rest = "";
  let lineNo = 0;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      const text = rest + decoder.decode(chunk, { stream: true });
      const parts = text.split("\n");
      rest = parts.pop() ?? "";
      const out = keepLines(parts, lineNo, skip);
      lineNo += parts.length;
      if (out.length > 0) yield out;
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read ${path}: ${String(err)}`, { cause: err });
  }
  const last = keepLines([rest + decoder.decode()], lineNo, skip);
  if (last.length > 0) yield last;
}

async function checkReadable(path: string): Promise<void> {
  const info = await stat(path).catch((err: { code?: string }) => {
    const why = err.code === "ENOENT" ? "no such file" : String(err);
    throw new InputError(`cannot read ${path}: ${why}`, { cause: err });
  });
  if (info.isDirectory()) throw new InputError(`cannot read ${path}: it is a directory`);
}

function keepLines(raw: string[], before: number, skip: number): Line[] {
  const out: Line[] = [];
  for (let i = 0; i < raw.length; i++) {
    const line = before + i + 1;
    if (line <= skip) continue;
    const t = raw[i]!.trim();
    if (t !== "" && !t.startsWith("#")) out.push({ line, text: t });
  }
  return out;
}

export function splitLines(text: string): Line[] {
  const out: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t !== "" && !t.startsWith("#")) out.push({ line: i + 1, text: t });
  });
  return out;
}

export interface Checked<P> {
  good: (Line & { payload: P })[];
  bad: (Line & { error: string })[];
}

/** Runs `validate` on every line; a line it refuses is reported, the others go on. */
export function checkLines<P>(lines: readonly Line[], validate: (text: string) => P): Checked<P> {
  const out: Checked<P> = { good: [], bad: [] };
  for (const l of lines) {
    try {
      out.good.push({ ...l, payload: validate(l.text) });
    } catch (err) {
      out.bad.push({ ...l, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}
