// Keeps the word-count task from fetching inside the worker's own network (SSRF): loopback,
// private ranges, link-local, cloud metadata and similar addresses are refused unless the worker
// runs with --allow-private. Checked before the first request and again before every redirect,
// on the addresses the request then connects to (pinned.ts), so a second DNS answer cannot differ.

import { PermanentError, RetryableError } from "../../errors.ts";
import { systemLookup } from "./resolve.ts";

/** What kind of address an IP is; anything but "public" is refused. */
export type AddressKind =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "CGNAT"
  | "multicast"
  | "unspecified"
  | "unique-local"
  | "cloud metadata"
  | "broadcast"
  | "reserved";

/** Resolves a host name to all its addresses (the shape of `dns.lookup(name, { all: true })`). */
export type LookupFn = (hostname: string) => Promise<readonly { address: string }[]>;

export interface ParsedIp {
  version: 4 | 6;
  /** The address as an unsigned integer: 32 bits for IPv4, 128 for IPv6. */
  value: bigint;
}

/** A block of addresses: `10.0.0.0/8`, or one address (`192.0.2.7` is `192.0.2.7/32`). */
export interface Cidr extends ParsedIp {
  prefix: number;
}

// First match wins, so the metadata addresses come before the ranges that contain them.
const RANGES: readonly (readonly [AddressKind, string])[] = [
  ["cloud metadata", "169.254.169.254/32"],
  ["cloud metadata", "fd00:ec2::254/128"],
  ["unspecified", "0.0.0.0/8"], // "this network"; 0.0.0.0 reaches the local host on Linux
  ["loopback", "127.0.0.0/8"],
  ["private", "10.0.0.0/8"],
  ["private", "172.16.0.0/12"],
  ["private", "192.168.0.0/16"],
  ["CGNAT", "100.64.0.0/10"],
  ["link-local", "169.254.0.0/16"],
  ["reserved", "192.0.0.0/24"], // IETF protocol assignments
  ["reserved", "192.0.2.0/24"], // documentation (TEST-NET-1)
  ["reserved", "198.18.0.0/15"], // benchmarking
  ["reserved", "198.51.100.0/24"], // documentation (TEST-NET-2)
  ["reserved", "203.0.113.0/24"], // documentation (TEST-NET-3)
  ["multicast", "224.0.0.0/4"],
  ["broadcast", "255.255.255.255/32"],
  ["reserved", "240.0.0.0/4"],
  ["unspecified", "::/128"],
  ["loopback", "::1/128"],
  ["link-local", "fe80::/10"],
  ["unique-local", "fc00::/7"],
  ["multicast", "ff00::/8"],
  ["reserved", "2001:db8::/32"], // documentation
  ["reserved", "3fff::/20"], // documentation (RFC 9637)
  ["reserved", "2001:2::/48"], // benchmarking (RFC 5180)
  ["reserved", "192.88.99.0/24"], // 6to4 relay anycast (deprecated): reaches whichever relay
  // IPv4-translated (SIIT, RFC 2765): ::ffff:0:a.b.c.d. The IPv4-mapped block ::ffff:0:0/96 is
  // refused as a whole in classify(): a public page is reached by its IPv4 address itself.
  ["reserved", "::ffff:0:0:0/96"],
  ["reserved", "64:ff9b:1::/48"], // local-use NAT64: translates into the local network
  ["private", "fec0::/10"], // site-local (deprecated), IPv6's first private addressing
  ["reserved", "2001::/32"], // Teredo: tunnels to an IPv4 address hidden in the bits
  ["reserved", "100::/64"], // discard-only
];

const PARSED_RANGES = RANGES.map(([kind, text]) => {
  const cidr = parseCidr(text);
  if (cidr === null) throw new Error(`bad range ${text}`);
  return { kind, ...cidr };
});

/** Parses `address/prefix` or a bare address (a block of one); null if it is neither. */
export function parseCidr(text: string): Cidr | null {
  const [address = "", bits, ...rest] = text.split("/");
  const ip = parseIp(address);
  if (ip === null || rest.length > 0) return null;
  const width = ip.version === 4 ? 32 : 128;
  const prefix = bits === undefined ? width : Number(bits);
  if (!/^\d{1,3}$/.test(bits ?? "0") || prefix > width) return null;
  return { ...ip, prefix };
}

function inBlock(ip: ParsedIp, block: Cidr): boolean {
  if (ip.version !== block.version) return false;
  const shift = BigInt((ip.version === 4 ? 32 : 128) - block.prefix);
  return ip.value >> shift === block.value >> shift;
}

/** Parses an IP literal (IPv6 with or without brackets, IPv4 in any WHATWG form); null for names. */
export function parseIp(text: string): ParsedIp | null {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (bare.includes(":")) return parseIpv6(bare);
  // `2130706433`, `0x7f.1` and `0177.0.0.1` all mean 127.0.0.1 to WHATWG URL (and to fetch).
  if (!/^[0-9a-fx.]+$/i.test(bare)) return null;
  let host: string;
  try {
    host = new URL(`http://${bare}/`).hostname;
  } catch {
    return null;
  }
  return parseDottedQuad(host);
}

function parseDottedQuad(text: string): ParsedIp | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return null;
  }
  const value = parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
  return { version: 4, value };
}

function parseIpv6(text: string): ParsedIp | null {
  const halves = text.split("::").map((half) => (half === "" ? [] : half.split(":")));
  if (halves.length > 2) return null;
  const last = halves[halves.length - 1] ?? [];
  // A trailing dotted quad (`::ffff:127.0.0.1`) stands for the last two groups.
  const quad = last.at(-1);
  if (quad?.includes(".")) {
    const v4 = parseDottedQuad(quad);
    if (v4 === null) return null;
    last.splice(-1, 1, (v4.value >> 16n).toString(16), (v4.value & 0xffffn).toString(16));
  }
  const [head = [], tail] = halves;
  const zeros = 8 - head.length - (tail?.length ?? 0);
  // "::" stands for one or more zero groups; without it there must be exactly eight groups.
  if (tail === undefined ? zeros !== 0 : zeros < 1) return null;
  const groups = [...head, ...Array<string>(tail ? zeros : 0).fill("0"), ...(tail ?? [])];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
  return { version: 6, value };
}

/** Classifies an IP literal; throws if `ip` is not one (use parseIp to tell). */
export function classifyIp(ip: string): AddressKind {
  const parsed = parseIp(ip);
  if (parsed === null) throw new Error(`not an IP address: ${ip}`);
  return classify(parsed);
}

function classify(ip: ParsedIp): AddressKind {
  const embedded = embeddedIpv4(ip);
  if (embedded !== null) {
    const kind = classify(embedded);
    // IPv4-mapped (::ffff:0:0/96) is never fetched, even for a public IPv4 address: a mapped
    // literal only hides which IPv4 address is meant. Its kind names what it would reach.
    const mapped = ip.version === 6 && ip.value >> 32n === 0xffffn;
    return mapped && kind === "public" ? "reserved" : kind;
  }
  return PARSED_RANGES.find((range) => inBlock(ip, range))?.kind ?? "public";
}

/**
 * The IPv4 address inside an IPv6 one that reaches it: IPv4-mapped `::ffff:a.b.c.d`,
 * IPv4-compatible `::a.b.c.d` (deprecated), NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:aabb:ccdd::`.
 */
function embeddedIpv4(ip: ParsedIp): ParsedIp | null {
  if (ip.version !== 6) return null;
  const low32 = ip.value & 0xffffffffn;
  const high96 = ip.value >> 32n;
  // ::/96 holds "::" and "::1" themselves, which are classified as IPv6.
  if (high96 === 0xffffn || high96 === 0x64ff9b0000000000000000n)
    return { version: 4, value: low32 };
  if (high96 === 0n && low32 > 1n) return { version: 4, value: low32 };
  if (ip.value >> 112n === 0x2002n) return { version: 4, value: (ip.value >> 80n) & 0xffffffffn };
  return null;
}

/**
 * Refuses (PermanentError) a host that is, or resolves to, a non-public address outside
 * `allowed`, and returns the addresses checked: the only ones the fetch may connect to. Every
 * address is checked, since the fetch may connect to any of them. `url` is for the message.
 */
export async function assertPublicHost(
  hostname: string,
  lookup: LookupFn = systemLookup,
  url: string = hostname,
  allowed: readonly Cidr[] = [],
): Promise<string[]> {
  const literal = parseIp(hostname);
  if (literal !== null) {
    const kind = allowed.some((block) => inBlock(literal, block)) ? "public" : classify(literal);
    if (kind !== "public") throw refusal(url, `${unbracket(hostname)} is ${describe(kind)}`);
    return [unbracket(hostname)];
  }
  const addresses = (await resolve(hostname, lookup)).map(({ address }) => address);
  for (const address of addresses) {
    const ip = parseIp(address);
    const kind = ip === null ? "reserved" : classify(ip);
    if (kind !== "public" && !allowed.some((block) => ip !== null && inBlock(ip, block))) {
      throw refusal(url, `${hostname} resolves to ${address}, ${describe(kind)}`);
    }
  }
  return addresses;
}

async function resolve(
  hostname: string,
  lookup: LookupFn,
): Promise<readonly { address: string }[]> {
  let addresses: readonly { address: string }[];
  try {
    addresses = await lookup(hostname);
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    // NXDOMAIN will not fix itself; a resolver timeout (EAI_AGAIN, ETIMEOUT) may.
    if (code === "ENOTFOUND" || code === "ENODATA") {
      throw new PermanentError(`could not resolve ${hostname}: no such host`, { cause });
    }
    throw new RetryableError(`could not resolve ${hostname} (${String(code ?? cause)})`, { cause });
  }
  if (addresses.length === 0) throw new PermanentError(`could not resolve ${hostname}: no address`);
  return addresses;
}

function describe(kind: AddressKind): string {
  return kind === "unspecified" ? "the unspecified address" : `a ${kind} address`;
}

function unbracket(host: string): string {
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

function refusal(url: string, reason: string): PermanentError {
  return new PermanentError(
    `refused to fetch ${url}: ${reason} (start the worker with --allow-private to allow it)`,
  );
}
