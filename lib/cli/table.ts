// Text tables for the CLI's reports (info, dead, queue, schedule): columns padded to their
// widest cell. Cells are shown as given: callers pass them through safeText first.

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "),
  );
}
