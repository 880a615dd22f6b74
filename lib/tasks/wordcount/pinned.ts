// One HTTP request to the address the guard checked. Resolving the name a second time (as
// fetch(url) would) lets a DNS server answer a public address to the check and a private one to
// the connection (DNS rebinding). So the name is resolved once, every address is checked, and
// the request goes to one of those addresses by IP, with the URL's Host header and TLS server
// name, so the server and the certificate check still see the name.

import { assertPublicHost, parseIp } from "./guard.ts";
import type { ResolvedOptions } from "./options.ts";

// Failures where the next address may work: this one is down, or not routable from here.
const UNREACHABLE = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

/** Checks `url`'s host, then requests it from a checked address; throws PermanentError if refused. */
export async function fetchPinned(
  url: string,
  limits: ResolvedOptions,
  init: RequestInit & { signal: AbortSignal; headers: Record<string, string> },
): Promise<Response> {
  const target = new URL(url);
  // DNS lookup takes no signal; race it so the timeout still bounds a hanging resolver.
  const addresses = await untilAborted(
    assertPublicHost(target.hostname, limits.lookup, url, limits.allowed),
    init.signal,
  );
  // An IP literal was checked as written and fetch connects to it as written.
  if (parseIp(target.hostname) !== null) return fetch(url, init);
  let failure: unknown;
  for (const address of addresses) {
    try {
      return await fetch(atAddress(target, address), {
        ...init,
        headers: { ...init.headers, host: target.host },
        // SNI and the certificate check use serverName (Bun honours it for both), not the IP.
        tls: { serverName: target.hostname },
        // A pool keyed by the URL's host and port (here an IP several names may share) could
        // hand a connection whose certificate was checked for one name to another name.
        keepalive: false,
      });
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (init.signal.aborted || !UNREACHABLE.has(String(code))) throw err;
      failure = err;
    }
  }
  throw failure;
}

/** `url` with its host replaced by `address` (IPv6 bracketed); port, path and query kept. */
function atAddress(url: URL, address: string): string {
  const pinned = new URL(url.href);
  pinned.hostname = address.includes(":") ? `[${address}]` : address;
  return pinned.href;
}

/** Resolves like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
