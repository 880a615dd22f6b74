// Who may do what. Reading is open to whoever reaches the port (it binds to loopback unless
// told otherwise) unless the dashboard asks a token for reads too; actions need the token the dashboard
// was started with, sent in a header
// (`Authorization: Bearer <token>` or `X-Courier-Token`). A header, not a cookie: a page on
// another site cannot make the browser send it, so no CSRF token is needed.
import { timingSafeEqual } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP, isIPv4, isIPv6 } from "node:net";

export type Verdict = { ok: true } | { ok: false; status: number; error: string };

export const ACTIONS_OFF =
  "actions are off: start the dashboard with --token or COURIER_DASHBOARD_TOKEN to turn them on";

/** Checks a request's token in constant time (the compare does not leak how much matched). */
export function checkToken(
  req: Request,
  token: string | undefined,
  kind: "action" | "read" = "action",
): Verdict {
  if (!token) return { ok: false, status: 403, error: ACTIONS_OFF };
  const given = bearer(req.headers.get("authorization")) ?? req.headers.get("x-courier-token");
  if (given === null || given === "") {
    const what = kind === "action" ? "this action needs" : "reading this dashboard needs";
    return { ok: false, status: 403, error: `${what} the dashboard's token` };
  }
  // Hashing first gives equal lengths, so timingSafeEqual can compare any two strings.
  const a = new Bun.CryptoHasher("sha256").update(given).digest();
  const b = new Bun.CryptoHasher("sha256").update(token).digest();
  if (!timingSafeEqual(a, b)) return { ok: false, status: 403, error: "wrong token" };
  return { ok: true };
}

function bearer(header: string | null): string | null {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? "");
  return m ? m[1]!.trim() : null;
}

/**
 * A loopback address or name in any spelling: `localhost` in any case, 127.0.0.0/8, and IPv6's
 * `::1` however written (`0:0:0:0:0:0:0:1`, in brackets) or an IPv4-mapped 127.x
 * (`::ffff:127.0.0.1`). One taken for another address turned the Host check off.
 */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (name === "localhost") return true;
  if (isIPv4(name)) return name.startsWith("127.");
  if (!isIPv6(name)) return false;
  // The URL parser writes an IPv6 address one way: `::1`, `::ffff:7f00:1` (mapped 127.0.0.1).
  const canonical = new URL(`http://[${name}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(canonical);
  return canonical === "::1" || (mapped !== null && Number.parseInt(mapped[1]!, 16) >> 8 === 127);
}

/** Resolves a name to all its addresses (`dns.lookup(name, { all: true })`'s shape). */
export type HostLookup = (host: string) => Promise<readonly { address: string }[]>;

const systemLookup: HostLookup = (host) => lookup(host, { all: true });

/**
 * Where the dashboard listens, and whether that is loopback (its Host check on). An address, or
 * `localhost`, as given. Another name is resolved once: when every address is loopback (a
 * machine's own name, which Debian's /etc/hosts maps to 127.0.1.1), it listens on the first,
 * the one judged. Judged by its spelling, such a name turned the Host check off on a loopback
 * server, and DNS rebinding read every payload. A name with another address, or none, is
 * listened on as given (Bun.serve resolves it, or says why it cannot): not loopback.
 */
export async function listenAddress(
  host: string,
  resolve: HostLookup = systemLookup,
): Promise<{ hostname: string; loopback: boolean }> {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (isLoopback(host) || isIP(bare) !== 0) return { hostname: host, loopback: isLoopback(host) };
  const addresses = await resolve(host).catch(() => []);
  const loopback = addresses.length > 0 && addresses.every((a) => isLoopback(a.address));
  return loopback ? { hostname: addresses[0]!.address, loopback } : { hostname: host, loopback };
}

/** A Host header: a name or IPv4 address, or an IPv6 one in brackets; then `:port`, or none. */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/;

/**
 * The host a Host header names, or null when it is malformed (`localhost:abc`, `[::1]x`, a port
 * past 65535, a path): the request's URL is made from it, and would not parse.
 */
export function hostName(header: string): string | null {
  const m = HOST_HEADER.exec(header);
  // The URL parser judges the rest as the request's URL will be: a port past 65535, `[zz]`.
  return m && URL.canParse(`http://${header}/`) ? m[1]! : null;
}

const MALFORMED_HOST = "malformed Host header: a host name or address, and a port from 0 to 65535";
const NO_HOST = "no Host header: send the dashboard's host name or address in one";

/**
 * Refuses a missing or malformed Host header (400, before anything reads the request's URL:
 * Bun builds it from the header, and without one, as HTTP/1.0 allows, it did not parse: a 500
 * and an `internal error` in the log for each such request). Listening on
 * loopback (listenAddress), refuses requests whose Host header names another host than a
 * loopback one or `own`, the name it was given (`--host vm`, which resolves to loopback: the
 * URL it prints): a web page that points its own domain at 127.0.0.1 (DNS rebinding) cannot
 * read the dashboard.
 */
export function checkHost(req: Request, loopback: boolean, own: string): Verdict {
  const host = req.headers.get("host") ?? "";
  const name = hostName(host);
  if (name === null) return { ok: false, status: 400, error: host ? MALFORMED_HOST : NO_HOST };
  const named = isLoopback(name) || name.toLowerCase() === own.toLowerCase();
  if (!loopback || named) return { ok: true };
  const names =
    own.toLowerCase() === "localhost" || isLoopback(own) ? "localhost" : `localhost or ${own}`;
  return { ok: false, status: 421, error: `this dashboard answers to ${names} only, not ${host}` };
}
