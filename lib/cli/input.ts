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
  /**
   * Why the line cannot be read: it is not UTF-8 text (U+FFFD then stands in `text`), or it is
   * longer than LINE_MAX characters (`text` holds its first LINE_MAX).
   */
  error?: string;
}

/** A line whose bytes are not UTF-8: refused on its own, never read with U+FFFD in it. */
export const NOT_UTF8 = "the line is not UTF-8 text";
/** A line past LINE_MAX characters: refused on its own, its length unknown (it was cut). */
export const TOO_LONG = "the line is longer than 65,536 characters";

/**
 * Non-blank lines that are not `#` comments, numbered as in the input; `-` reads stdin.
 * Streamed: memory stays bounded however long the input. The first `skip`
 * lines (counted as in the input, blank and comment lines included) are passed over, for a
 * resumed run. Yields arrays of lines, one per chunk read, to keep the per-line cost low.
 * Lines are split as bytes (a newline byte is never part of a UTF-8 character), then decoded.
 */
export async function* streamLines(path: string, skip = 0): AsyncGenerator<Line[]> {
  if (path !== "-") await checkReadable(path);
  // Chunks of 64 KiB: Bun.file().stream() reads 512 KiB at a time, tens of thousands of lines.
  // Standard input as a Node stream, so that the caller can destroy() it when it stops early
  // while the writer keeps the pipe open (a pending read would keep the process alive).
  const source = path === "-" ? process.stdin : createReadStream(path, { highWaterMark: CHUNK });
  let rest: Uint8Array = new Uint8Array(0);
  let cutOff = false;
  let lineNo = 0;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      // A line with no end in sight is cut: what is kept already shows it is no valid input
      // (a URL is at most 2,048 characters), and a line of gigabytes must not fill memory.
      // The rest of a cut line is passed over up to its end.
      const nl = cutOff ? chunk.indexOf(NEWLINE) : 0;
      if (nl === -1) continue;
      const data = chunk.subarray(nl);
      const bytes = rest.length > 0 ? Buffer.concat([rest, data]) : data;
      const end = bytes.lastIndexOf(NEWLINE);
      const tail = end === -1 ? bytes : bytes.subarray(end + 1);
      cutOff = tail.length > KEPT_BYTES;
      // A copy either way: the chunk is let go. A cut line is refused as too long (keepLines),
      // so where the cut falls (inside a character, even) changes nothing.
      rest = tail.slice(0, KEPT_BYTES);
      if (end === -1) continue;
      const parts = decodeLines(bytes.subarray(0, end));
      const out = keepLines(parts, lineNo, skip);
      lineNo += parts.lines.length;
      if (out.length > 0) yield out;
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    const where = path === "-" ? "standard input" : path;
    throw new InputError(`cannot read ${where}: ${readFailure(err)}`, { cause: err });
  }
  const last = keepLines(decodeLines(rest), lineNo, skip);
  if (last.length > 0) yield last;
}

const NEWLINE = 0x0a;
/**
 * Bytes of an unfinished line kept. A UTF-16 unit (a string's length counts them) takes 3 bytes
 * at most, so a cut line always decodes to more than LINE_MAX (and is refused as too long).
 */
const KEPT_BYTES = 4 * LINE_MAX;

/** Lines' texts, and which of them (by index) are not UTF-8: U+FFFD then stands in their text. */
interface Decoded {
  lines: string[];
  notUtf8?: Set<number>;
}

/** The lines of `bytes`: one decode when all are UTF-8 (the usual), else line by line. */
export function decodeLines(bytes: Uint8Array): Decoded {
  try {
    return { lines: UTF8.decode(bytes).split("\n") };
  } catch {
    const decoded: Required<Decoded> = { lines: [], notUtf8: new Set() };
    for (let start = 0; start <= bytes.length; ) {
      const nl = bytes.indexOf(NEWLINE, start);
      const end = nl === -1 ? bytes.length : nl;
      const line = bytes.subarray(start, end);
      try {
        decoded.lines.push(UTF8.decode(line));
      } catch {
        decoded.notUtf8.add(decoded.lines.length);
        decoded.lines.push(LENIENT.decode(line));
      }
      start = end + 1;
    }
    return decoded;
  }
}

/** Refuses bytes that are not UTF-8 (TextDecoder would put U+FFFD in their place). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const LENIENT = new TextDecoder();

/**
 * Why a file or standard input could not be read, in words for the common cases: a directory
 * (`--file -` or `cancel -` given `< somedir` fails its first read with EISDIR), none there.
 */
export function readFailure(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "EISDIR") return "it is a directory";
  if (code === "ENOENT") return "no such file";
  return String(err);
}

/** Refuses, in one line, a path that is no readable file (missing, a directory). */
export async function checkReadable(path: string): Promise<void> {
  const info = await stat(path).catch((err: unknown) => {
    throw new InputError(`cannot read ${path}: ${readFailure(err)}`, { cause: err });
  });
  if (info.isDirectory()) throw new InputError(`cannot read ${path}: it is a directory`);
}

function keepLines({ lines, notUtf8 }: Decoded, before: number, skip: number): Line[] {
  const out: Line[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = before + i + 1;
    if (line <= skip) continue;
    const t = lines[i]!.trim();
    if (t === "" || t.startsWith("#")) continue; // a comment is skipped, whatever its bytes
    // Too long first: a cut line's text is no input to judge (`(65536)` was shown as its length).
    if (t.length > LINE_MAX) out.push({ line, text: t.slice(0, LINE_MAX), error: TOO_LONG });
    else out.push(notUtf8?.has(i) ? { line, text: t, error: NOT_UTF8 } : { line, text: t });
  }
  return out;
}
