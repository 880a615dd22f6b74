// How `trigger --summary --wait` shows a batch's word-count summary to people (--json prints the
// callback's record, whose result is the summary as it is). Words and errors come from the pages
// and their servers: every line passes through safeText.

import { safeText } from "../safe-text.ts";
import type { WordCountSummary } from "../tasks/wordcount/summary.ts";

/** A block of lines: the totals, the top words, then the pages not counted (the first few). */
export function formatSummary(s: WordCountSummary): string {
  const top = s.topWords.map((t) => `${t.word} (${t.count})`).join(", ");
  const lines = [
    `pages:      ${s.pages} (${s.counted} counted, ${s.failed} failed)`,
    `words:      ${s.words}`,
    `top words:  ${top === "" ? "none" : top}`,
  ];
  // The merge was bounded (lib/tasks/wordcount/merge.ts): counts may be short, never over.
  if (!s.topWordsExact)
    lines.push("            (approximate: too many distinct words to merge exactly)");
  if (s.failures.length > 0) {
    lines.push("not counted:");
    for (const f of s.failures)
      lines.push(`  ${f.id}  ${f.status}${f.error ? `: ${f.error}` : ""}`);
    const more = s.failed - s.failures.length;
    if (more > 0) lines.push(`  … and ${more} more`);
  }
  return lines.map((l) => safeText(l)).join("\n");
}

/** Whether `v` has a summary's shape (the callback's stored result), to show it as one. */
export function isSummary(v: unknown): v is WordCountSummary {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    ["words", "pages", "counted", "failed"].every((k) => typeof s[k] === "number") &&
    Array.isArray(s.topWords) &&
    Array.isArray(s.failures)
  );
}
