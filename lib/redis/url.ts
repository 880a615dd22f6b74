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
 * an unencoded `/` or `@` would fool a parser into seeing no password at all. Everything up to
 * the last `@` is credentials.
 */
export function maskUrl(url: string): string {
  const head = /^[a-z][\w+.-]*:\/\//i.exec(url)?.[0];
  if (!head) return "***";
  const at = url.lastIndexOf("@");
  if (at < head.length) return trailingSlashOff(url, head);
  const credentials = url.slice(head.length, at);
  const colon = credentials.indexOf(":");
  const masked = colon === -1 ? "***" : `${credentials.slice(0, colon)}:***`;
  return trailingSlashOff(`${head}${masked}@${url.slice(at + 1)}`, head);
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
  try {
    new URL(url);
  } catch {
    throw new ConfigError(
      `invalid Redis URL "${maskUrl(url)}": expected redis://[user:password@]host[:port][/db]`,
    );
  }
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
    if (!m || port < 1 || port > 65_535) throw bad(`"${text}" is not host:port`);
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
