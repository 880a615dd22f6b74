// Reading job inputs for bulk enqueue: one item per line, from a file or standard input.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { InputError } from "../errors.ts";

const CHUNK = 64 * 1024;
/** Characters of one line kept: past this it is cut (and then refused as too long). */
const LINE_MAX = 64 * 1024;

export interface Line {
  /** 1-based line number in the input. */
  line: number;
  text: string;
}

/**
 * Non-blank lines that are not `#` comments, numbered as in the input; `-` reads stdin.
 * Streamed: memory stays bounded however long the input. The first `skip`
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
      // A line with no end in sight is cut: what is kept already shows it is no valid input
      // (a URL is at most 2,048 characters), and a line of gigabytes must not fill memory.
      if (rest.length > LINE_MAX) rest = rest.slice(0, LINE_MAX);
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
    const t = raw[i]!.slice(0, LINE_MAX).trim();
    if (t !== "" && !t.startsWith("#")) out.push({ line, text: t });
  }
  return out;
}
