// The built-in word-count task, as a chain: validate (normalise the URL) -> fetch (bounded,
// address-checked) -> decode (charset sniffing) -> extract (rendered text) -> count (ICU words).

import { InputError, InvalidUrlError, PermanentError } from "../../errors.ts";
import { defineTask, type Task } from "../../types.ts";
import { countWords, type WordFrequency } from "./count.ts";
import { decodeBody } from "./decode.ts";
import { extractText } from "./extract.ts";
import { fetchPage } from "./fetch.ts";
import { wordCountLimitKey } from "./limit-key.ts";
import { resolveOptions, type WordCountOptions } from "./options.ts";
import { normaliseUrl } from "./url.ts";

export type { LookupFn } from "./guard.ts";
export { type WordCountOptions, wordCountDefaults } from "./options.ts";

import { WORDCOUNT_TASK } from "./name.ts";

export { WORDCOUNT_TASK };

export interface WordCountPayload {
  url: string;
}

export interface WordCountResult {
  words: number;
  title: string | null;
  lang: string | null;
  /** The URL as enqueued (normalised). */
  url: string;
  /** The URL after redirects. */
  finalUrl: string;
  status: number;
  contentType: string;
  /** Body size in bytes, after decompression. */
  bytes: number;
  topWords: WordFrequency[];
  timings: {
    /** From the first DNS check to the last body byte, in milliseconds. */
    fetchMs: number;
    /** Decoding, extracting and counting, in milliseconds. */
    parseMs: number;
  };
}

/** The word-count task; `options` apply to every job the worker runs with it. */
export function createWordCountTask(
  options: WordCountOptions = {},
): Task<WordCountPayload, WordCountResult> {
  // Checked once here, so a bad option stops the worker at start rather than failing each job.
  resolveOptions(options);
  return defineTask<WordCountPayload, WordCountResult>({
    name: WORDCOUNT_TASK,
    validate: validatePayload,
    limitKey: wordCountLimitKey,
    run: (payload, signal) => runWordCount(payload, options, signal),
  });
}

/** Refuses a payload that is not `{ url: string }` or whose URL is unusable; normalises the URL. */
export function validatePayload(payload: unknown): WordCountPayload {
  const url = (payload as { url?: unknown } | null)?.url;
  if (typeof payload !== "object" || typeof url !== "string") {
    throw new InputError(
      'wordcount payload must be an object like {"url": "https://example.org/"}',
    );
  }
  return { url: normaliseUrl(url) };
}

async function runWordCount(
  payload: WordCountPayload,
  options: WordCountOptions,
  signal: AbortSignal,
): Promise<WordCountResult> {
  const url = checkedUrl(payload);
  const page = await fetchPage(url, options, signal);
  const started = performance.now();
  const { words, topWords, title, lang } = analyseBody(page.body, page.contentType, page.charset);
  const parseMs = Math.round(performance.now() - started);
  return {
    words,
    title,
    lang,
    url: page.url,
    finalUrl: page.finalUrl,
    status: page.status,
    contentType: page.contentType,
    bytes: page.bytes,
    topWords,
    timings: { fetchMs: page.fetchMs, parseMs },
  };
}

/** What the task reads from a page's body: its words, most frequent words, title and language. */
export interface PageAnalysis {
  words: number;
  topWords: WordFrequency[];
  title: string | null;
  lang: string | null;
}

/**
 * Decodes, extracts and counts one fetched body (`contentType` without parameters, `charset`
 * from the header or null): the part of the task that needs no network.
 */
export function analyseBody(
  body: Uint8Array,
  contentType: string,
  charset: string | null,
): PageAnalysis {
  const { text: decoded } = decodeBody(body, charset);
  // Plain text is already what a reader sees; parsing it as HTML would eat "<" and "&".
  const { text, title, lang } =
    contentType === "text/plain"
      ? { text: decoded, title: null, lang: null }
      : extractText(decoded);
  return { ...countWords(text), title, lang };
}

// A job enqueued without `validate` (by another client, or an older version) still gets its URL
// checked. A bad URL will not get better, so it is permanent, not the retryable default.
function checkedUrl(payload: WordCountPayload): string {
  try {
    return validatePayload(payload).url;
  } catch (cause) {
    if (cause instanceof InvalidUrlError || cause instanceof InputError) {
      throw new PermanentError(cause.message, { cause });
    }
    throw cause;
  }
}
