// Reading job inputs for bulk enqueue: one item per line, from a file or standard input.
import { InputError } from "../errors.ts";

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
