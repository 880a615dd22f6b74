// Where the word-count fetch gets a host's addresses: the system resolver (dns.lookup, which
// reads /etc/hosts), or DNS servers named in the task's options. Either is asked once per
// request; the guard checks that answer and the request connects to it (pinned.ts).

import { lookup as dnsLookup, Resolver } from "node:dns/promises";
import { ConfigError } from "../../errors.ts";
import type { LookupFn } from "./guard.ts";

/** The system resolver: every address, in the order getaddrinfo prefers. */
export function systemLookup(hostname: string): Promise<readonly { address: string }[]> {
  return dnsLookup(hostname, { all: true });
}

/**
 * Asks `servers` (`"192.0.2.53"`, `"[2001:db8::53]:5353"`) for A and AAAA records. Throws
 * ConfigError for a server that is not an address.
 */
export function serverLookup(servers: readonly string[]): LookupFn {
  const resolver = new Resolver();
  try {
    resolver.setServers([...servers]);
  } catch (cause) {
    throw new ConfigError(
      `wordcount option dnsServers must be IP addresses with optional ports, got ${JSON.stringify(servers)}`,
      { cause },
    );
  }
  return async (hostname) => {
    const answers = await Promise.allSettled([
      resolver.resolve4(hostname),
      resolver.resolve6(hostname),
    ]);
    const addresses = answers.flatMap((a) => (a.status === "fulfilled" ? a.value : []));
    const failures: unknown[] = answers.flatMap((a) => (a.status === "rejected" ? [a.reason] : []));
    if (addresses.length > 0 || failures.length === 0) {
      return addresses.map((address) => ({ address }));
    }
    // Nothing found: a timeout is worth a retry, so it wins over "no such name" (see guard.ts).
    throw failures.find((reason) => !isNotFound(reason)) ?? failures[0];
  };
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ENOTFOUND" || code === "ENODATA";
}
