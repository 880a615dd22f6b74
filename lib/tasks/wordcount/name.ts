// The task's name, on its own: a producer (bin/trigger.ts) that only enqueues needs it without
// loading the fetcher and the HTML parser, which weigh some 30 MB of memory.
export const WORDCOUNT_TASK = "wordcount";

/** The built-in callback of a batch of word counts (summary.ts): adds up the pages' counts. */
export const WORDCOUNT_SUMMARY_TASK = "wordcount-summary";
