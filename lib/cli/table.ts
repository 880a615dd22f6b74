// Text tables for the CLI's reports (info, dead, queue, schedule): columns padded to their
// widest cell. Cells are shown as given: callers pass them through safeText first.

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: readonly string[][]): string[] {
  return padRows(rows, columnWidths(rows));
}

/** The widest cell of each column. */
export function columnWidths(rows: readonly string[][]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return widths;
}

/**
 * Rows padded to `widths` (a table printed a page at a time keeps its first page's; a longer
 * cell pushes its own row only); the last column is not padded.
 */
export function padRows(rows: readonly string[][], widths: readonly number[]): string[] {
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  "),
  );
}
