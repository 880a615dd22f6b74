// The failed tests of a `bun test` run, from its output as it comes (scripts/check.ts repeats
// them at its end, so a CI log cut to its tail still names them): each `(fail)` line once, with
// the file it came under. Bun names a test's file in a header line before its tests, and, when
// a failure was not in the last file, repeats the `(fail)` lines under `N tests failed:` at its
// end with no file: that recap is not taken again.

/** At most this many failures are kept (a broken tree fails thousands). */
export const FAILURES_SHOWN_MAX = 50;

/** A file's header in bun's output (`tests/keys.test.ts:`), for the `(fail)` lines under it. */
const FILE_HEADER = /^(\S+\.test\.[cm]?[jt]sx?):$/;
/** Bun's recap of the failures at its end: the lines after it were taken already. */
const RECAP = /^\d+ tests? failed:$/;

/** One output stream's failures, fed as its chunks come. */
export class FailedTests {
  readonly lines: string[] = [];
  #line = ""; // the line being received
  #file = "";
  #recap = false;

  /** Takes the next chunk of the stream's text. */
  feed(text: string): void {
    const lines = (this.#line + text).split("\n");
    this.#line = lines.pop() ?? "";
    for (const l of lines) this.#take(l);
    if (this.#line.length > 4_000) this.#line = ""; // a (fail) line is short; a long line is not one
  }

  #take(line: string): void {
    if (this.#recap) return;
    if (RECAP.test(line)) {
      this.#recap = true;
      return;
    }
    const file = FILE_HEADER.exec(line)?.[1];
    if (file !== undefined) this.#file = file;
    else if (line.startsWith("(fail) ") && this.lines.length < FAILURES_SHOWN_MAX) {
      this.lines.push(this.#file ? `${this.#file}: ${line}` : line);
    }
  }
}
