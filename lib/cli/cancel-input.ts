// The ids `cancel` is given (bin/cancel.ts): on the command line (`--jobid ID`, IDs), or on
// standard input (`-`, one a line), streamed in chunks so that memory stays bounded however many
// ids come (300,000 ids read whole held 237 MB). A line that is no job id is set aside with its
// line number, to be reported while the others are canceled.
import { isValidJobId } from "../engine/record.ts";
import { InputError } from "../errors.ts";
import { shownInput } from "../safe-text.ts";
import { type Line, streamLines } from "./input.ts";

/** Ids canceled per call to Redis: a bound on what is held, and a batch worth the round trip. */
export const CANCEL_CHUNK = 1_000;

export interface IdChunk {
  /** Job ids, in input order (at most CANCEL_CHUNK). */
  ids: string[];
  /** Lines of standard input that are no job id, in input order. */
  bad: Line[];
}

const RULE = "1-128 letters, digits and _ . : -";

/** The one line for an id given on standard input that is no job id. */
export function badIdLine(bad: Line): string {
  return `line ${bad.line}: "${shownInput(bad.text)}" is not a job id (${RULE})`;
}

/**
 * The ids given, in chunks: those of the command line first checked (one that is no job id
 * throws InputError: nothing is canceled), `-` read from standard input as it comes. Nothing
 * given at all (or an empty standard input) throws InputError too, before the caller connects
 * to Redis.
 */
export async function idChunks(
  given: readonly string[],
  size = CANCEL_CHUNK,
): Promise<AsyncGenerator<IdChunk>> {
  const bad = given.find((id) => id !== "-" && !isValidJobId(id));
  if (bad !== undefined) throw new InputError(`"${shownInput(bad)}" is not a job id (${RULE})`);
  const chunks = chunked(given, size);
  const first = await chunks.next();
  if (first.done) {
    // `-` given and read to its end: telling the user to give `-` would tell them what they did.
    if (given.includes("-")) throw new InputError("no job ids on standard input");
    throw new InputError(
      "give the job ids: cancel --jobid ID [ID…] (or - to read them from stdin)",
    );
  }
  return (async function* () {
    yield first.value;
    yield* chunks;
  })();
}

async function* chunked(given: readonly string[], size: number): AsyncGenerator<IdChunk> {
  let chunk: IdChunk = { ids: [], bad: [] };
  // Bad lines count too: a stream of nothing but bad lines must not pile up either.
  const full = () => chunk.ids.length + chunk.bad.length >= size;
  for (const id of given) {
    const lines = id === "-" ? streamLines("-") : one(id);
    for await (const part of lines) {
      for (const l of part) {
        if (isValidJobId(l.text)) chunk.ids.push(l.text);
        else chunk.bad.push(l);
        if (full()) {
          yield chunk;
          chunk = { ids: [], bad: [] };
        }
      }
    }
  }
  if (chunk.ids.length + chunk.bad.length > 0) yield chunk;
}

/** An id of the command line, as a line (checked already). */
async function* one(id: string): AsyncGenerator<Line[]> {
  yield [{ line: 0, text: id }];
}
