// `trigger`'s input: which one of `--url URL`, a bare URL, `--file PATH` or `--task NAME` was
// given (checked before Redis is contacted: a mistake is one line and exit 2), and the lines
// that input yields.
import { InputError } from "../errors.ts";
import { type Line, streamLines } from "./input.ts";
import type { JobInput } from "./trigger-args.ts";

/** `--url URL`, a bare URL, `--file PATH`, or `--task NAME`: exactly one, and not empty. */
export function inputOf(args: Record<string, unknown>, rawArgs: string[]): JobInput {
  const urls = rawArgs.filter((a) => a === "--url" || a.startsWith("--url="));
  if (urls.length > 1) throw new InputError("give --url once; for many URLs use --file PATH");
  const bare = ((args._ as string[] | undefined) ?? []).map(String);
  if (bare.length > 1) throw new InputError("give one URL; for many URLs use --file PATH");
  const url = typeof args.url === "string" ? args.url : bare[0];
  const file = typeof args.file === "string" ? args.file : undefined;
  if (typeof args.url === "string" && bare.length > 0)
    throw new InputError(`give the URL once: --url ${args.url} or ${bare[0]}`);
  if (url !== undefined && file !== undefined)
    throw new InputError("give either a URL or --file PATH, not both");
  if (typeof args.task === "string") {
    if (url !== undefined || file !== undefined)
      throw new InputError("give either --task NAME or a URL (--url, --file), not both");
    return { task: args.task };
  }
  if (url === undefined && file === undefined)
    throw new InputError("give --task NAME --payload JSON, or --url URL or --file PATH");
  if (url !== undefined && url.trim() === "") throw new InputError("the URL is empty");
  if (file !== undefined && file === "") throw new InputError("--file needs a path (- = stdin)");
  return { url, file };
}

/** One line: a job that comes from no input (`--task`). */
export async function* oneLine(text: string): AsyncIterable<Line[]> {
  yield [{ line: 1, text }];
}

/** The input's lines; a file with no URL at all is refused before Redis is contacted. */
export async function nonEmpty(
  input: { url?: string; file?: string },
  skip: number,
): Promise<AsyncIterable<Line[]>> {
  if (input.url !== undefined)
    return (async function* () {
      yield [{ line: 1, text: input.url! }];
    })();
  const it = streamLines(input.file!, skip);
  const first = await it.next();
  const where = skip > 0 ? ` after line ${skip}` : "";
  if (first.done)
    throw new InputError(
      `no URLs in ${input.file === "-" ? "standard input" : input.file}${where}`,
    );
  return (async function* () {
    yield first.value;
    yield* it;
  })();
}

/** The input, cut short by a stop signal (cutOnStop). */
export interface CutInput {
  lines: AsyncIterable<Line[]>;
  /** The last line taken before a stop cut the input short; null when it was not cut. */
  cutAfter(): number | null;
}

/**
 * `source` until `stop` resolves (the first stop signal), then ended as a shorter input would
 * be, even while a read is pending (standard input a pipe that stays open): the lines taken so
 * far are enqueued and their ids printed, so the run can be resumed with `--skip` after them.
 */
export function cutOnStop(source: AsyncIterable<Line[]>, stop: Promise<void>): CutInput {
  let last = 0;
  let cut: number | null = null;
  const stopped = stop.then(() => "stopped" as const);
  const lines = (async function* () {
    const it = source[Symbol.asyncIterator]();
    for (;;) {
      const step = it.next();
      step.catch(() => {}); // a read left pending at the stop fails once stdin is destroyed
      const next = await Promise.race([step, stopped]);
      if (next === "stopped") {
        cut = last;
        return;
      }
      if (next.done) return;
      last = next.value.at(-1)?.line ?? last;
      yield next.value;
    }
  })();
  return { lines, cutAfter: () => cut };
}
