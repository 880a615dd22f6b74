// Text tables for the CLI's reports (info, dead, queue, schedule): columns padded to their
// widest cell. Cells are shown as given: callers pass them through safeText first.
import { cutText, ID_SHOWN_MAX } from "../safe-text.ts";

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: readonly string[][]): string[] {
  return padRows(rows, columnWidths(rows));
}

/** The widest cell of each column (a cell of a padded column counted as cut: shownCell). */
export function columnWidths(rows: readonly string[][]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) {
      const width = i === row.length - 1 ? cell.length : shownCell(cell).length;
      widths[i] = Math.max(widths[i] ?? 0, width);
    }
  }
  return widths;
}

/**
 * Rows padded to `widths` (a table printed a page at a time keeps its first page's; a longer
 * cell pushes its own row only); the last column is not padded.
 */
export function padRows(rows: readonly string[][], widths: readonly number[]): string[] {
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : shownCell(cell).padEnd(widths[i] ?? 0)))
      .join("  "),
  );
}

/**
 * A padded column's cell: cut (…) past ID_SHOWN_MAX, longer than any id or name Courier takes,
 * never inside a character (cutText). Padded whole, one cell written by hand (a 1 MB job id or
 * worker name) made every row of its page that wide: 63 MB for a page of 500.
 */
function shownCell(cell: string): string {
  return cutText(cell, ID_SHOWN_MAX);
}
