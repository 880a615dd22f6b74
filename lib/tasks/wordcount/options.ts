// The word-count task's options and their defaults, in one place.

import { ConfigError } from "../../errors.ts";
import { keysOf, kind, kindOf, unknownKeyProblem } from "../../option-keys.ts";
import { shownInput } from "../../safe-text.ts";
import { type Cidr, type LookupFn, parseCidr } from "./guard.ts";
import { serverLookup, systemLookup } from "./resolve.ts";

/** Options of the word-count task (and of `fetchPage`). Every field is optional. */
export interface WordCountOptions {
  /**
   * Fetch loopback, private, link-local, metadata and other non-public addresses. Off by default
   * (`wordCountDefaults.allowPrivate`); the worker's --allow-private turns it on, tests use it.
   */
  allowPrivate?: boolean;
  /**
   * Total time for one fetch, in milliseconds: DNS, every redirect hop and the whole body.
   * Default `wordCountDefaults.fetchTimeoutMs` (30,000).
   */
  timeoutMs?: number;
  /**
   * Largest body read, in bytes, counted after decompression; a larger page fails for good.
   * Default `wordCountDefaults.maxBodyBytes` (10 MiB).
   */
  maxBytes?: number;
  /** Redirects followed before giving up. Default `wordCountDefaults.maxRedirects` (5). */
  maxRedirects?: number;
  /**
   * Resolves host names, once per request: the addresses it returns are checked and the request
   * connects to one of them. Default: `dnsServers` if given, else `dns.lookup(name, { all: true })`.
   */
  lookup?: LookupFn;
  /**
   * DNS servers to ask instead of the system resolver (`"10.0.0.53"`, `"127.0.0.1:5353"`),
   * for A and AAAA records. Default: none (the system resolver, /etc/hosts included).
   */
  dnsServers?: readonly string[];
  /**
   * Addresses or CIDR blocks fetched although they are not public (`"10.1.2.0/24"`, an
   * intranet the worker is meant to read); every other non-public address stays refused.
   * Default: none. `allowPrivate` allows them all.
   */
  allowAddresses?: readonly string[];
}

export const wordCountDefaults = {
  /** Refuse non-public addresses: a job's URL comes from whoever can enqueue, not the operator. */
  allowPrivate: false,
  /**
   * 30 s for the whole fetch. Long enough for a slow server sending a large page, short enough
   * that a server dripping one byte a second cannot hold a worker slot for the job's lifetime.
   */
  fetchTimeoutMs: 30_000,
  /** 10 MiB: far above any article (a long one is ~1 MiB of HTML), low enough to bound memory. */
  maxBodyBytes: 10 * 1024 * 1024,
  /** 5 redirects: real sites need 1 or 2 (http to https, a trailing slash); browsers allow 20. */
  maxRedirects: 5,
} as const;

/** Options with every default filled in. */
export interface ResolvedOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  lookup: LookupFn;
  allowed: Cidr[];
}

/** WordCountOptions' keys: any other is a misspelling, dropped unsaid otherwise. */
const WORDCOUNT_KEYS = keysOf<WordCountOptions>()([
  "allowPrivate",
  "timeoutMs",
  "maxBytes",
  "maxRedirects",
  "lookup",
  "dnsServers",
  "allowAddresses",
]);

/**
 * The options' keys and kinds: `allowPrivate: "false"` (an environment variable passed on) is
 * truthy and turned the address checks off; `allowprivate` was dropped without a word.
 */
function checkKinds(o: WordCountOptions): void {
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new ConfigError(`wordcount options must be an object, got ${kind(o)}`);
  }
  const unknown = unknownKeyProblem(o, WORDCOUNT_KEYS);
  if (unknown !== undefined) throw new ConfigError(`wordcount: ${unknown}`);
  const bad = (what: string, v: unknown) =>
    new ConfigError(`wordcount option ${what}, got ${kind(v)}`);
  if (o.allowPrivate !== undefined && typeof o.allowPrivate !== "boolean") {
    throw bad("allowPrivate must be true or false", o.allowPrivate);
  }
  if (o.lookup !== undefined && typeof o.lookup !== "function") {
    throw bad("lookup must be a function", o.lookup);
  }
  if (o.allowAddresses !== undefined && !Array.isArray(o.allowAddresses)) {
    throw bad("allowAddresses must be a list of addresses or CIDR blocks", o.allowAddresses);
  }
}

/** Fills in defaults; throws ConfigError for a limit that is not a positive whole number. */
export function resolveOptions(options: WordCountOptions): ResolvedOptions {
  checkKinds(options);
  const resolved = {
    allowPrivate: options.allowPrivate ?? wordCountDefaults.allowPrivate,
    timeoutMs: options.timeoutMs ?? wordCountDefaults.fetchTimeoutMs,
    maxBytes: options.maxBytes ?? wordCountDefaults.maxBodyBytes,
    maxRedirects: options.maxRedirects ?? wordCountDefaults.maxRedirects,
    lookup: options.lookup ?? (options.dnsServers ? dnsLookup(options.dnsServers) : systemLookup),
    allowed: (options.allowAddresses ?? []).map(allowedBlock),
  };
  for (const name of ["timeoutMs", "maxBytes", "maxRedirects"] as const) {
    const value = resolved[name];
    // Zero redirects is a valid choice ("do not follow any"); zero time or bytes is not.
    const least = name === "maxRedirects" ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new ConfigError(
        `wordcount option ${name} must be a whole number >= ${least}, got ${kind(value)}`,
      );
    }
  }
  return resolved;
}

// One resolver per dnsServers list, not one per fetch: the task passes the same options object
// to every job.
const resolvers = new WeakMap<readonly string[], LookupFn>();

function dnsLookup(servers: readonly string[]): LookupFn {
  const known = resolvers.get(servers);
  if (known) return known;
  const lookup = serverLookup(servers);
  resolvers.set(servers, lookup);
  return lookup;
}

function allowedBlock(text: unknown): Cidr {
  if (typeof text !== "string") {
    throw new ConfigError(
      `wordcount option allowAddresses: each entry must be text, got ${kindOf(text)}`,
    );
  }
  const block = parseCidr(text);
  if (block === null) {
    throw new ConfigError(
      `wordcount option allowAddresses: ${JSON.stringify(shownInput(text))} is not an address or a CIDR block like 10.0.0.0/8`,
    );
  }
  return block;
}
