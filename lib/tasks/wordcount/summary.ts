// The built-in `wordcount-summary` task: the callback of a batch of word counts (`trigger --file
// urls.txt --summary`). It reads the outcomes of the batch's jobs (its parents, streamed a page
// at a time by the engine) and adds them up: the whole site's word count, the pages counted
// and failed, and the pages' top words merged (merge.ts). Memory stays bounded however large
// the batch: one outcome at a time, a bounded merge, at most SUMMARY_FAILURES failures listed.
import { defineTask, type Task } from "../../types.ts";
import { TOP_WORDS, type WordFrequency } from "./count.ts";
import { MERGE_CAPACITY, TopWordsMerge } from "./merge.ts";
import { WORDCOUNT_SUMMARY_TASK } from "./name.ts";

export { WORDCOUNT_SUMMARY_TASK };

/** The failures a summary lists (the first ones, in batch order); the rest are only counted. */
export const SUMMARY_FAILURES = 10;

/** What the summary reads of one job of the batch (a parent of the callback). */
export interface PageOutcome {
  id: string;
  /** finished, failed, canceled, or unknown (its outcome expired before the callback ran). */
  status: string;
  result?: unknown;
  error?: string | null;
}

/** A page that was not counted: it did not finish, or its result is no word count. */
export interface PageFailure {
  id: string;
  status: string;
  error: string | null;
}

export interface WordCountSummary {
  /** The words of every page counted, added up. */
  words: number;
  /** The jobs in the batch. */
  pages: number;
  /** Pages whose job finished with a word count. */
  counted: number;
  /** Pages not counted: failed, canceled, outcome expired, or a result that is no word count. */
  failed: number;
  /** The TOP_WORDS highest merged counts, most frequent first, ties in code-point order. */
  topWords: WordFrequency[];
  /** Whether each top word's count is the exact sum over the pages that listed it (merge.ts). */
  topWordsExact: boolean;
  /** The first SUMMARY_FAILURES pages not counted, in batch order. */
  failures: PageFailure[];
}

/** Adds up outcomes one at a time; `summary()` may be read at any point. */
export class SummaryBuilder {
  private words = 0;
  private pages = 0;
  private counted = 0;
  private readonly merge: TopWordsMerge;
  private readonly failures: PageFailure[] = [];
  private failed = 0;

  constructor(capacity = MERGE_CAPACITY) {
    this.merge = new TopWordsMerge(capacity);
  }

  add(outcome: PageOutcome): void {
    this.pages += 1;
    const page = outcome.status === "finished" ? wordCountOf(outcome.result) : null;
    if (page === null) {
      this.fail(outcome);
      return;
    }
    this.counted += 1;
    this.words += page.words;
    this.merge.add(page.topWords);
  }

  summary(): WordCountSummary {
    return {
      words: this.words,
      pages: this.pages,
      counted: this.counted,
      failed: this.failed,
      topWords: this.merge.top(TOP_WORDS),
      topWordsExact: this.merge.exact,
      failures: [...this.failures],
    };
  }

  private fail(outcome: PageOutcome): void {
    this.failed += 1;
    if (this.failures.length >= SUMMARY_FAILURES) return;
    const error =
      outcome.status === "finished"
        ? "its result is not a word count"
        : typeof outcome.error === "string"
          ? outcome.error
          : null;
    this.failures.push({ id: outcome.id, status: outcome.status, error });
  }
}

// A page's result lists TOP_WORDS words; a few more are allowed (a task of another version),
// not any number (a result written by something else must not cost unbounded work).
const PAGE_WORDS_MAX = 10 * TOP_WORDS;
const WORD_MAX_LENGTH = 1_000;

/** The words and top words of a word-count result, or null when it is not one. */
export function wordCountOf(result: unknown): { words: number; topWords: WordFrequency[] } | null {
  if (typeof result !== "object" || result === null) return null;
  const { words, topWords } = result as { words?: unknown; topWords?: unknown };
  if (!isCount(words) || !Array.isArray(topWords) || topWords.length > PAGE_WORDS_MAX) {
    return null;
  }
  const listed = new Set<string>();
  for (const entry of topWords as unknown[]) {
    const { word, count } = (entry ?? {}) as { word?: unknown; count?: unknown };
    if (typeof word !== "string" || word === "" || word.length > WORD_MAX_LENGTH) return null;
    // A word listed twice would be counted twice: such a list is no page's top words.
    if (!isCount(count) || count === 0 || listed.has(word)) return null;
    listed.add(word);
  }
  return { words, topWords: topWords as WordFrequency[] };
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** How often the summary reports its progress (pages read), and checks for an abort. */
const PROGRESS_EVERY = 1_000;

/** Adds up `outcomes`; stops with the signal's reason when it is aborted. */
export async function summarise(
  outcomes: AsyncIterable<PageOutcome>,
  options: { signal?: AbortSignal; onProgress?: (pages: number) => void } = {},
): Promise<WordCountSummary> {
  const builder = new SummaryBuilder();
  let n = 0;
  for await (const outcome of outcomes) {
    builder.add(outcome);
    n += 1;
    if (n % PROGRESS_EVERY === 0) {
      options.signal?.throwIfAborted();
      options.onProgress?.(n);
    }
  }
  return builder.summary();
}

/**
 * The `wordcount-summary` task, a batch's callback (`trigger --file … --summary`): reads the
 * batch's outcomes (`ctx.parents()`, a page at a time) and adds them up. Its payload is ignored.
 */
export function createWordCountSummaryTask(): Task<unknown, WordCountSummary> {
  return defineTask<unknown, WordCountSummary>({
    name: WORDCOUNT_SUMMARY_TASK,
    run: (_payload, ctx) => {
      const onProgress = (pages: number) => ctx.progress({ pages });
      return summarise(ctx.parents(), { signal: ctx.signal, onProgress });
    },
  });
}
