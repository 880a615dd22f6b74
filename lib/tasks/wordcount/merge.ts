// Merges the pages' top words into the batch's, in bounded memory. A page lists only its
// TOP_WORDS most frequent words, so the merged count of a word is the sum of its counts on the
// pages that listed it: the site's exact count for the words every page ranks high (the words
// a reader of the summary looks for), short for a word that misses some page's list.
//
// The candidates are kept by the Misra-Gries frequent-items algorithm (batched): at most
// 2 × capacity words; past that, the (capacity+1)-th highest count is taken off every word
// and those left at zero or below are dropped. So memory stays bounded however large the
// batch, the merge is EXACT while the pages name at most 2 × capacity distinct words (a site of
// 500 pages names at most 5,000), and past that a count is short by at most W / (capacity+1)
// (W = all counts added), never over: a word whose merged count exceeds that is never lost.
import { top, type WordFrequency } from "./count.ts";

/** The merge prunes past twice this many words (default 10,000: 20,000 words, some 2 MB). */
export const MERGE_CAPACITY = 10_000;

export class TopWordsMerge {
  private readonly counts = new Map<string, number>();
  private pruned = false;

  constructor(private readonly capacity = MERGE_CAPACITY) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
  }

  /** Adds one page's top words (each word once per page, a positive count). */
  add(words: readonly WordFrequency[]): void {
    for (const { word, count } of words) {
      this.counts.set(word, (this.counts.get(word) ?? 0) + count);
    }
    if (this.counts.size > 2 * this.capacity) this.prune();
  }

  /** The `n` highest merged counts, ties in code-point order (as a page's list is ranked). */
  top(n: number): WordFrequency[] {
    return top(this.counts, n);
  }

  /** Whether every count is the exact sum of the pages' counts (no prune happened). */
  get exact(): boolean {
    return !this.pruned;
  }

  // Takes the (capacity+1)-th highest count off every word: at least capacity+1 words lose it,
  // which bounds what any one word can lose in total (see the top of the file).
  private prune(): void {
    const sorted = [...this.counts.values()].sort((a, b) => b - a);
    const cut = sorted[this.capacity] ?? 0;
    for (const [word, count] of this.counts) {
      if (count <= cut) this.counts.delete(word);
      else this.counts.set(word, count - cut);
    }
    this.pruned = true;
  }
}
