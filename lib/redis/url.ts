// The Redis URL: checked before connecting (a malformed one is bad usage), masked wherever it
// is shown, and the CA file that rediss:// trusts. A Redis Cluster is given by its seed nodes:
// redis+cluster://[user:password@]host:port[,host:port…] (rediss+cluster:// with TLS).
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import { describeCause } from "./cause.ts";

/**
 * `redis://user:secret@host` → `redis://user:***@host`; never print a URL without this. Redis
 * also takes a lone `redis://secret@host` as a password, so a user with no password is masked
 * too (`redis://***@host`). Text that is not `scheme://…` is not shown at all: a password given
 * by mistake in place of the URL would be. Works on the text, not a URL parser: a password with
 * an unencoded `@` would fool a parser into seeing no password at all.
 *
 * The credentials are the authority's (up to its last `@`; it ends at the first `/`, `?` or
 * `#`), as node-redis reads them, so the host shown is the host dialled: an `@` in a query or a
 * fragment is not one. An `@` after the authority may still end a password with an unencoded
 * `/`, `?` or `#` in it (validateUrl refuses such a URL): all after the scheme is masked then.
 * A cluster URL's credentials are up to its last `@`, as parseClusterUrl reads them. Every
 * query value and the fragment are masked too (restMasked).
 */
export function maskUrl(url: string): string {
  const head = /^[a-z][\w+.-]*:\/\//i.exec(url)?.[0];
  if (!head) return "***";
  const at = url.lastIndexOf("@");
  if (at < head.length)
    return trailingSlashOff(`${head}${hostsMasked(url.slice(head.length))}`, head);
  if (!isClusterUrl(url) && at >= authorityEnd(url, head.length)) return `${head}***`;
  const credentials = url.slice(head.length, at);
  const colon = credentials.indexOf(":");
  const masked = colon === -1 ? "***" : `${credentials.slice(0, colon)}:***`;
  // After the credentials too, a password may sit where a port goes (`user@host:PASSWORD`).
  return trailingSlashOff(`${head}${masked}@${hostsMasked(url.slice(at + 1))}`, head);
}

/**
 * The host and path after the credentials, with every query value and the fragment masked
 * (`?password=***`, `#***`): Courier refuses such a URL (validateUrl), but a host application
 * showing its own URL through maskUrl may keep a password there (`?password=…`, a client's
 * `#secret`). A query part with no `=` may be the secret itself: masked whole.
 */
function restMasked(rest: string): string {
  const cut = rest.search(/[?#]/);
  if (cut === -1) return rest;
  const hash = rest.indexOf("#", cut);
  let out = rest.slice(0, cut);
  if (rest[cut] === "?") {
    const parts = rest.slice(cut + 1, hash === -1 ? rest.length : hash).split("&");
    const shown = parts.map((p) =>
      p.includes("=") ? `${p.slice(0, p.indexOf("="))}=***` : p && "***",
    );
    out += `?${shown.join("&")}`;
  }
  return hash === -1 ? out : `${out}#***`;
}

/**
 * Hosts, then the path: each `:port` that is no port masked (`:***`, and the path after it), then
 * restMasked. With no `@`, a password lands where a port goes: `redis://:PASSWORD` (its `@host`
 * forgotten), `host:PASSWORD`. A port of digits and an IPv6 address's colons are shown.
 */
function hostsMasked(text: string): string {
  const cut = text.search(/[/?#]/);
  const hosts = cut === -1 ? text : text.slice(0, cut);
  let noPort = false;
  const masked = hosts.replace(/:([^,:\]]*)(?=,|$)/g, (port, digits: string) => {
    if (/^\d*$/.test(digits)) return port;
    noPort = true;
    return ":***";
  });
  if (cut === -1) return masked;
  const rest = text.slice(cut);
  // A port that was no port may be a password going on past a `/` (base64 has them): the path
  // after it is masked too.
  const query = rest.search(/[?#]/);
  if (noPort && rest[0] === "/")
    return `${masked}/***${query === -1 ? "" : restMasked(rest.slice(query))}`;
  return `${masked}${restMasked(rest)}`;
}

/** Where the authority after `scheme://` (at `from`) ends: its first `/`, `?` or `#`, or the end. */
function authorityEnd(url: string, from: number): number {
  const end = url.slice(from).search(/[/?#]/);
  return end === -1 ? url.length : from + end;
}

/** `redis://h:1/` as `redis://h:1`; never a slash of the scheme's `//` (`redis+cluster://`). */
function trailingSlashOff(url: string, head: string): string {
  return url.length > head.length && url.endsWith("/") ? url.slice(0, -1) : url;
}

/** A malformed URL is bad usage (ConfigError, exit 2), not an unreachable Redis. */
export function validateUrl(url: string): void {
  const scheme = /^([a-z][\w+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // Not echoed: what was given in place of a URL may well be the password.
    throw new ConfigError("the Redis URL is not a redis:// URL (not shown: it may be a password)");
  }
  if (scheme === "redis+cluster" || scheme === "rediss+cluster") {
    parseClusterUrl(url);
    return;
  }
  if (scheme !== "redis" && scheme !== "rediss") {
    throw new ConfigError(
      `invalid Redis URL: scheme must be redis:// or rediss:// (redis+cluster:// or rediss+cluster:// for a Redis Cluster), not ${scheme}://`,
    );
  }
  const head = scheme.length + 3;
  if (url.lastIndexOf("@") >= authorityEnd(url, head)) {
    // Not shown: where the password ends and the host begins cannot be told.
    throw new ConfigError(
      "invalid Redis URL (not shown: it may hold a password): an @ comes after a /, ? or #, so where a password would end is unclear; in a user or password write / ? # @ as %2F %3F %23 %40",
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`invalid Redis URL "${maskUrl(url)}": ${URL_FORM}`);
  }
  // `redis://` parses with no host, and node-redis then dials 127.0.0.1:6379: a Redis the URL
  // never named (an unfilled `REDIS_URL=redis://${HOST}`). Port 0 is no port to dial.
  if (parsed.hostname === "") {
    throw new ConfigError(
      `invalid Redis URL "${maskUrl(url)}": it names no host (this machine is redis://127.0.0.1), ${URL_FORM}`,
    );
  }
  if (parsed.port === "0") {
    throw new ConfigError(
      `invalid Redis URL "${maskUrl(url)}": the port must be from 1 to 65535, ${URL_FORM}`,
    );
  }
  checkPathAndQuery(url, parsed);
}

const URL_FORM = "expected redis://[user:password@]host[:port][/db]";
/** The most databases a Redis can be configured with (`databases` is a C int). */
const DB_MAX = 2_147_483_647;

/**
 * No query or fragment (node-redis ignores them: `?password=…` would be dropped silently), and
 * a database of decimal digits only (node-redis' Number() took `/0x1` as 1 and `/1e1` as 10).
 * Whether this Redis has that database is its own to say (`databases`, 16 by default).
 */
function checkPathAndQuery(url: string, parsed: URL): void {
  const cut = url.search(/[?#]/);
  if (cut !== -1) {
    // Shown without them: a query may hold a password (`?password=…`).
    throw new ConfigError(
      `invalid Redis URL "${maskUrl(url.slice(0, cut))}": it has a ?query or #fragment, which Redis URLs do not take (a password goes before the host: redis://:PASSWORD@host)`,
    );
  }
  const db = parsed.pathname.slice(1);
  if (db === "" || (/^\d{1,10}$/.test(db) && Number(db) <= DB_MAX)) return;
  throw new ConfigError(
    `invalid Redis URL "${maskUrl(url)}": the database after the host must be a whole number (/0, /1, …), ${URL_FORM}`,
  );
}

/**
 * A cluster URL pointed at one of its nodes, `node` (a socket's host and port), in place of the
 * seeds it lists: what an error about that node names. Its credentials are kept, for maskUrl to
 * mask as in every other message. `url` itself when it is no cluster URL or the node is unknown.
 */
export function clusterNodeUrl(url: string, node: { host?: string; port?: number }): string {
  const head = /^rediss?\+cluster:\/\//i.exec(url)?.[0];
  if (!head || node.host === undefined || node.port === undefined) return url;
  // Up to the last `@`, as parseClusterUrl reads them: "" when there is none.
  const credentials = url.slice(head.length, url.lastIndexOf("@") + 1);
  const host = node.host.includes(":") ? `[${node.host}]` : node.host;
  return `${head}${credentials}${host}:${node.port}`;
}

/** A Redis Cluster's URL: redis+cluster:// or rediss+cluster://. */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//i.test(url);
}

export interface ClusterUrl {
  /** The nodes asked for the cluster's layout, in the order given (any one answering is enough). */
  seeds: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_FORM = "expected redis+cluster://[user:password@]host:port[,host:port…]";
/** host:port, or [IPv6]:port; the port may be left out (6379). */
const SEED = /^(?:\[([0-9a-f:.]+)\]|([\w.-]+))(?::(\d{1,5}))?$/i;

/**
 * The seeds and credentials of a cluster URL; throws ConfigError (one line, password masked).
 * As in maskUrl, everything up to the last `@` is credentials (`user:password`, or a lone
 * password), percent-decoded. Cluster has one database: no /db, no query.
 */
export function parseClusterUrl(url: string): ClusterUrl {
  const bad = (why: string) =>
    new ConfigError(`invalid Redis URL "${maskUrl(url)}": ${why}; ${CLUSTER_FORM}`);
  const match = /^(rediss?)\+cluster:\/\/(.*)$/is.exec(url);
  if (!match) throw bad("not a cluster URL");
  const rest = match[2]!;
  const at = rest.lastIndexOf("@");
  const hosts = rest.slice(at + 1).replace(/\/$/, "");
  const seeds = hosts.split(",").map((text) => {
    const m = SEED.exec(text);
    const port = Number(m?.[3] ?? 6379);
    // Shown as maskUrl shows hosts: a query, a fragment or a "port" may be a password.
    if (!m || port < 1 || port > 65_535) throw bad(`"${hostsMasked(text)}" is not host:port`);
    return { host: m[1] ?? m[2]!, port };
  });
  const parsed: ClusterUrl = { seeds, tls: match[1]!.toLowerCase() === "rediss" };
  if (at === -1) return parsed;
  const credentials = rest.slice(0, at);
  const colon = credentials.indexOf(":");
  try {
    if (colon === -1) parsed.password = decodeURIComponent(credentials);
    else {
      const user = decodeURIComponent(credentials.slice(0, colon));
      if (user) parsed.username = user;
      parsed.password = decodeURIComponent(credentials.slice(colon + 1));
    }
  } catch {
    throw bad("the user or password is not percent-encoded text");
  }
  return parsed;
}

/**
 * For rediss:// (and rediss+cluster://), the CA certificates (PEM) in the file named by REDIS_TLS_CA, trusted instead of
 * the system's for Redis alone (NODE_EXTRA_CA_CERTS would also make the word-count fetch trust
 * them). Undefined when unset or for redis://.
 */
export function tlsCa(url: string): string | undefined {
  const file = process.env.REDIS_TLS_CA;
  if (!file || !/^rediss(\+cluster)?:\/\//i.test(url)) return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read REDIS_TLS_CA file ${file}: ${describeCause(err)}`);
  }
}

// Codes of a server certificate the client could not verify (node:tls names).
const TLS_VERIFY = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/;

export function tlsHint(cause: unknown): string {
  const code = String((cause as { code?: unknown } | null)?.code ?? "");
  if (!TLS_VERIFY.test(code)) return "";
  const file = process.env.REDIS_TLS_CA;
  return file
    ? ` (REDIS_TLS_CA is ${file}: is it the CA that signed the server's certificate?)`
    : " (set REDIS_TLS_CA to the file of the CA that signed the server's certificate)";
}
