// A progress bar on stderr, drawn only on a terminal (scripts and pipes get nothing).

import { cutText, safeText } from "../safe-text.ts";
import { formatProgress } from "./format.ts";

export function progressBar(out: { isTTY?: boolean; write(s: string): unknown } = process.stderr): {
  update(done: number, total: number): void;
  end(): void;
} {
  let drawn = false;
  return {
    update(done, total) {
      if (!out.isTTY || total <= 1) return;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      out.write(
        `\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total} jobs ended`,
      );
      drawn = true;
    },
    end() {
      if (drawn) out.write("\n");
      drawn = false; // a second end (trigger's read-back began, then its finally) adds nothing
    },
  };
}

/**
 * A waited-for job's progress (`result --wait`), redrawn in place on stderr, only on a terminal:
 * a pipe or a file gets no progress lines (the job's final block or JSON says how it ended).
 */
export function jobProgressLine(
  out: { isTTY?: boolean; write(s: string): unknown } = process.stderr,
): {
  show(value: unknown): void;
  end(): void;
} {
  let drawn = false;
  let last = "";
  return {
    show(value) {
      const text = formatProgress(value);
      // A wait may tell one value twice (lib/queue/wait.ts onJobProgress): drawn once.
      if (!out.isTTY || text === "" || text === last) return;
      last = text;
      // Cut (between characters, then …: 80 in all), so a long object never wraps (a wrapped
      // line is not redrawn by `\r`); cleared to the end of the line, so a shorter value leaves
      // nothing of a longer one.
      out.write(`\rprogress: ${cutText(safeText(text), 69)}\x1b[K`);
      drawn = true;
    },
    end() {
      if (drawn) out.write("\n");
      drawn = false;
    },
  };
}
