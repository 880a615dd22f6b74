// Counts words with ICU's word segmentation, so languages written without spaces (Chinese,
// Japanese, Thai) are counted by dictionary words instead of as one long "word".

/** How many of the most frequent words a result lists. */
export const TOP_WORDS = 10;

/** One entry of the most frequent words, case-folded. */
export interface WordFrequency {
  word: string;
  count: number;
}

export interface WordCount {
  words: number;
  /** The TOP_WORDS most frequent words, most frequent first, ties in code-point order. */
  topWords: WordFrequency[];
}

// One segmenter for the process: building one loads ICU break-iterator data, which costs more
// than segmenting a typical page. `undefined` locale: the page's language is not trusted.
const segmenter = new Intl.Segmenter(undefined, { granularity: "word" });

/** Counts the word-like segments of `text` (punctuation and spaces are not words). */
export function countWords(text: string): WordCount {
  const counts = new Map<string, number>();
  let words = 0;
  for (const segment of segmenter.segment(text)) {
    if (!segment.isWordLike) continue;
    words += 1;
    // toLowerCase, not toLocaleLowerCase: the same on every host (no Turkish dotless i), and
    // several times faster on a long page.
    // A soft hyphen (U+00AD, `&shy;`) is a hyphenation hint, shown only at a line's end: the
    // word is the same without it (counted apart, and shown escaped as `zusammen\xadarbeit`).
    const text = segment.segment;
    const word = (text.includes("\u00ad") ? text.replaceAll("\u00ad", "") : text).toLowerCase();
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return { words, topWords: top(counts, TOP_WORDS) };
}

/**
 * The `n` most frequent words, in one pass: a page has thousands of distinct words, and
 * sorting them all to keep ten cost more than segmenting the page.
 */
export function top(counts: ReadonlyMap<string, number>, n: number): WordFrequency[] {
  const best: WordFrequency[] = [];
  for (const [word, count] of counts) {
    const last = best[best.length - 1];
    if (best.length === n && last !== undefined && !ranksBefore(word, count, last)) continue;
    let i = best.length === n ? n - 1 : best.length;
    // Insertion into a list of at most n: shift the entries this one outranks.
    while (i > 0 && ranksBefore(word, count, best[i - 1]!)) {
      best[i] = best[i - 1]!;
      i -= 1;
    }
    best[i] = { word, count };
  }
  return best;
}

/** Higher count first; ties in code-point order. */
function ranksBefore(word: string, count: number, other: WordFrequency): boolean {
  return count > other.count || (count === other.count && compare(word, other.word) < 0);
}

// Code-point order rather than localeCompare, so the result does not depend on the host locale.
function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
