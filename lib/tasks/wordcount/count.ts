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
    const word = segment.segment.toLocaleLowerCase();
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return { words, topWords: top(counts, TOP_WORDS) };
}

function top(counts: ReadonlyMap<string, number>, n: number): WordFrequency[] {
  return [...counts]
    .map(([word, count]) => ({ word, count }))
    .sort((a, b) => b.count - a.count || compare(a.word, b.word))
    .slice(0, n);
}

// Code-point order rather than localeCompare, so the result does not depend on the host locale.
function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
