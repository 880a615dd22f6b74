import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { ConfigError, HeldError, PermanentError, RetryableError } from "../lib/errors.ts";
import { fetchPage, MAX_RETRY_AFTER_MS, parseRetryAfter } from "../lib/tasks/wordcount/fetch.ts";
import type { LookupFn } from "../lib/tasks/wordcount/guard.ts";
import { createWordCountTask } from "../lib/tasks/wordcount/index.ts";
import { formatBytes } from "../lib/tasks/wordcount/read-body.ts";

const KiB = 1024;
const encoder = new TextEncoder();
const retryAt = new Date(Date.now() + 60_000).toUTCString();

// A server that misbehaves on purpose, one route per way a page can go wrong.
function route(request: Request): Response {
  const { pathname } = new URL(request.url);
  const redirect = /^\/redirect\/(\d+)$/.exec(pathname);
  if (redirect) {
    const left = Number(redirect[1]);
    const next = left === 0 ? "/ok" : `/redirect/${left - 1}`;
    return new Response(null, { status: 302, headers: { location: next } });
  }
  switch (pathname) {
    case "/ok":
      return html("<title>Fine</title><p>hello world</p>");
    case "/503":
      return new Response("down", { status: 503 });
    case "/429-seconds":
      return new Response("slow down", { status: 429, headers: { "retry-after": "7" } });
    case "/429-date":
      return new Response("slow down", { status: 429, headers: { "retry-after": retryAt } });
    case "/429-bare":
      return new Response("slow down", { status: 429 });
    case "/429-years":
      return new Response("slow down", { status: 429, headers: { "retry-after": "99999999" } });
    case "/503-seconds":
      return new Response("maintenance", { status: 503, headers: { "retry-after": "3" } });
    case "/502-seconds":
      return new Response("bad gateway", { status: 502, headers: { "retry-after": "4" } });
    case "/404":
      return new Response("no", { status: 404 });
    case "/410":
      return new Response("gone", { status: 410, statusText: "" });
    case "/loop":
      return new Response(null, { status: 301, headers: { location: "/loop" } });
    case "/no-location":
      return new Response(null, { status: 302 });
    case "/to-ftp":
      return new Response(null, { status: 302, headers: { location: "ftp://example.org/" } });
    case "/to-metadata":
      return new Response(null, {
        status: 302,
        headers: { location: "http://169.254.169.254/latest/meta-data/" },
      });
    case "/png":
      return new Response(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), {
        headers: { "content-type": "image/png" },
      });
    case "/big":
      return text("a ".repeat(50 * KiB));
    case "/big-stream":
      return new Response(stream(20, "b ".repeat(8 * KiB)), {
        headers: { "content-type": "text/plain" },
      });
    case "/gzip":
      return new Response(Bun.gzipSync("\0".repeat(4 * 1024 * KiB)), {
        headers: { "content-type": "text/plain", "content-encoding": "gzip" },
      });
    case "/drip":
      return new Response(drip(), { headers: { "content-type": "text/plain" } });
    default:
      return new Response("not here", { status: 404 });
  }
}

const html = (body: string) =>
  new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } });
const text = (body: string) => new Response(body, { headers: { "content-type": "text/plain" } });

function stream(chunks: number, chunk: string): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ === chunks) controller.close();
      else controller.enqueue(encoder.encode(chunk));
    },
  });
}

// One word every 100 ms: alive, but too slow for a 300 ms budget.
function drip(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      await Bun.sleep(100);
      controller.enqueue(encoder.encode("drip "));
    },
  });
}

// Bun.serve always sends a Content-Type, so bodies without one come from a raw TCP server.
function rawResponse(request: string): string {
  const body = request.startsWith("GET /binary ")
    ? "\u0000\u0001\u0002binary"
    : "<!doctype html><p>sniffed words</p>";
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}

let server: ReturnType<typeof Bun.serve>;
let raw: TCPSocketListener<undefined>;
let base: string;
let rawBase: string;
const local = { allowPrivate: true, timeoutMs: 5000 };

beforeAll(() => {
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: route });
  base = `http://127.0.0.1:${server.port}`;
  raw = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket: Socket<undefined>, data: Buffer) {
        socket.end(rawResponse(data.toString("latin1")));
      },
    },
  });
  rawBase = `http://127.0.0.1:${raw.port}`;
});

afterAll(() => {
  server.stop(true);
  raw.stop(true);
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the fetch to fail");
}

describe("fetchPage succeeds", () => {
  test("a plain page", async () => {
    const page = await fetchPage(`${base}/ok`, local);
    expect(page).toMatchObject({
      url: `${base}/ok`,
      finalUrl: `${base}/ok`,
      status: 200,
      contentType: "text/html",
      charset: "utf-8",
      bytes: 37,
    });
    expect(new TextDecoder().decode(page.body)).toBe("<title>Fine</title><p>hello world</p>");
    expect(page.fetchMs).toBeGreaterThanOrEqual(0);
  });

  test("a chain of five redirects", async () => {
    const page = await fetchPage(`${base}/redirect/4`, local);
    expect(page.url).toBe(`${base}/redirect/4`);
    expect(page.finalUrl).toBe(`${base}/ok`);
    expect(page.status).toBe(200);
  });

  test("a page without Content-Type that looks like HTML", async () => {
    const page = await fetchPage(`${rawBase}/page`, local);
    expect(page.contentType).toBe("text/html");
    expect(page.charset).toBeNull();
    expect(page.bytes).toBe(35);
  });
});

describe("fetchPage fails for good", () => {
  test.each([
    ["/404", `HTTP 404 Not Found from BASE/404`],
    ["/410", `HTTP 410 Gone from BASE/410`],
    ["/loop", "too many redirects (more than 5) from BASE/loop"],
    ["/redirect/5", "too many redirects (more than 5)"],
    ["/no-location", "HTTP 302 redirect from BASE/no-location has no Location header"],
    ["/to-ftp", 'scheme "ftp" is not allowed'],
    ["/png", "unsupported content type image/png from BASE/png"],
    ["/big", "page is larger than 64 KiB: BASE/big"],
    ["/big-stream", "page is larger than 64 KiB: BASE/big-stream"],
    ["/gzip", "page is larger than 64 KiB: BASE/gzip"],
  ])("%s", async (path, message) => {
    const err = await failure(fetchPage(base + path, { ...local, maxBytes: 64 * KiB }));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain(message.replace("BASE", base));
  });

  test("maxRedirects is an option", async () => {
    const err = await failure(fetchPage(`${base}/redirect/2`, { ...local, maxRedirects: 2 }));
    expect(err.message).toContain("too many redirects (more than 2)");
  });

  test("a body without Content-Type that is binary", async () => {
    const err = await failure(fetchPage(`${rawBase}/binary`, local));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain("unsupported content type (none sent, and the body is not text)");
  });
});

describe("fetchPage fails for now", () => {
  test("HTTP 503", async () => {
    const err = await failure(fetchPage(`${base}/503`, local));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toBe(`HTTP 503 Service Unavailable from ${base}/503`);
    expect((err as RetryableError).retryAfterMs).toBeUndefined();
  });

  test("HTTP 429 with Retry-After in seconds holds the host", async () => {
    const err = await failure(fetchPage(`${base}/429-seconds`, local));
    expect(err).toBeInstanceOf(HeldError);
    expect((err as HeldError).code).toBe("EHELD");
    expect(err.message).toBe(
      `HTTP 429 Too Many Requests from ${base}/429-seconds (retry after 7 s)`,
    );
    expect((err as HeldError).retryAfterMs).toBe(7000);
  });

  test("HTTP 429 with Retry-After as a date", async () => {
    const err = (await failure(fetchPage(`${base}/429-date`, local))) as HeldError;
    expect(err).toBeInstanceOf(HeldError);
    // The header has whole seconds, so up to a second less than the minute it was set to.
    expect(err.retryAfterMs).toBeGreaterThan(58_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  test("HTTP 429 without Retry-After holds for the queue's back-off", async () => {
    const err = (await failure(fetchPage(`${base}/429-bare`, local))) as HeldError;
    expect(err).toBeInstanceOf(HeldError);
    expect(err.retryAfterMs).toBeUndefined();
    expect(err.message).toBe(`HTTP 429 Too Many Requests from ${base}/429-bare`);
  });

  test("a Retry-After of years is capped at an hour", async () => {
    const err = (await failure(fetchPage(`${base}/429-years`, local))) as HeldError;
    expect(err.retryAfterMs).toBe(MAX_RETRY_AFTER_MS);
  });

  test("HTTP 503 with Retry-After holds the host; other 5xx with it retry", async () => {
    const held = (await failure(fetchPage(`${base}/503-seconds`, local))) as HeldError;
    expect(held).toBeInstanceOf(HeldError);
    expect(held.retryAfterMs).toBe(3000);
    const retry = (await failure(fetchPage(`${base}/502-seconds`, local))) as RetryableError;
    expect(retry).toBeInstanceOf(RetryableError);
    expect(retry.retryAfterMs).toBe(4000);
  });

  test("a server that drips slower than the timeout", async () => {
    const started = performance.now();
    const err = await failure(fetchPage(`${base}/drip`, { ...local, timeoutMs: 300 }));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toBe(`timed out after 300 ms fetching ${base}/drip`);
    // A deadline is a window, so time is the point: the drip never ends, and a word every
    // 100 ms never trips a per-read timeout; the whole fetch ends at 300 ms. Not before (a
    // timer does not fire early), and within 1.5 s (1.2 s of margin for a loaded machine).
    const tookMs = performance.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(250);
    expect(tookMs).toBeLessThan(1_500);
  });

  test("a refused connection", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const url = `http://127.0.0.1:${closed.port}/`;
    closed.stop(true);
    const err = await failure(fetchPage(url, local));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toStartWith(`could not fetch ${url}: connection failed (`);
  });

  test("the caller's abort is passed through with its reason", async () => {
    const controller = new AbortController();
    const reason = new Error("worker shutting down");
    controller.abort(reason);
    expect(await failure(fetchPage(`${base}/ok`, local, controller.signal))).toBe(reason);
  });
});

describe("fetchPage address guard", () => {
  test("refuses loopback without allowPrivate", async () => {
    const err = await failure(fetchPage(`${base}/ok`));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(
      `refused to fetch ${base}/ok: 127.0.0.1 is a loopback address ` +
        "(start the worker with --allow-private to allow it)",
    );
  });

  test("refuses a name that resolves to a private address", async () => {
    const lookup: LookupFn = async () => [{ address: "10.0.0.1" }];
    const err = await failure(fetchPage("http://intranet.example/", { lookup }));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain("intranet.example resolves to 10.0.0.1, a private address");
  });

  test("re-checks every redirect hop", async () => {
    // The first hop is let through (allowAddresses), so the request reaches our server; the
    // redirect to the cloud metadata address must still be refused.
    const lookup: LookupFn = async () => [{ address: "127.0.0.1" }];
    const first = `http://localhost:${server.port}/to-metadata`;
    const err = await failure(fetchPage(first, { lookup, allowAddresses: ["127.0.0.1"] }));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain(
      "refused to fetch http://169.254.169.254/latest/meta-data/: 169.254.169.254 is a cloud metadata address",
    );
  });

  test("allowAddresses lets one block through, and only that one", async () => {
    const page = await fetchPage(`${base}/ok`, { allowAddresses: ["127.0.0.0/30"] });
    expect(page.status).toBe(200);
    const err = await failure(fetchPage(`${base}/ok`, { allowAddresses: ["127.0.0.2/31"] }));
    expect(err.message).toContain("127.0.0.1 is a loopback address");
  });

  test("a dnsServers entry that is not an address is a ConfigError", async () => {
    const err = await failure(fetchPage(`${base}/ok`, { dnsServers: ["dns.example"] }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'wordcount option dnsServers must be IP addresses with optional ports, got ["dns.example"]',
    );
  });

  test("a bad allowAddresses entry is a ConfigError", async () => {
    const err = await failure(fetchPage(`${base}/ok`, { allowAddresses: ["10.0.0.0/33"] }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'wordcount option allowAddresses: "10.0.0.0/33" is not an address or a CIDR block like 10.0.0.0/8',
    );
  });

  // `allowPrivate: "false"` (an environment variable passed on) is truthy: it turned the
  // address checks off, and the loopback page was fetched. A misspelt key was dropped unsaid
  // (`allowprivate`), a string of blocks a raw `.map is not a function`.
  test.each([
    [{ allowPrivate: "false" }, 'wordcount option allowPrivate must be true or false, got "false"'],
    [{ allowPrivate: 1 }, "wordcount option allowPrivate must be true or false, got 1"],
    [{ allowprivate: true }, "wordcount: unknown option allowprivate (did you mean allowPrivate?)"],
    [
      { allowAddresses: "10.0.0.0/8" },
      'wordcount option allowAddresses must be a list of addresses or CIDR blocks, got "10.0.0.0/8"',
    ],
    [{ lookup: 5 }, "wordcount option lookup must be a function, got 5"],
    [
      { allowAddresses: [5] },
      "wordcount option allowAddresses: each entry must be text, got the number 5",
    ],
  ])("%j is a ConfigError, and nothing is fetched", async (options, message) => {
    const err = await failure(fetchPage(`${base}/ok`, options as never));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(message);
    expect(() => createWordCountTask(options as never)).toThrow(new ConfigError(message));
  });
});

describe("helpers", () => {
  test.each([
    ["120", 120_000],
    [" 0 ", 0],
    ["Wed, 21 Oct 2015 07:28:30 GMT", 30_000],
    ["Wed, 21 Oct 2015 07:27:00 GMT", 0],
    ["soon", undefined],
    ["-5", undefined],
    ["Sunday, 21-Oct-15 07:28:10 GMT", 10_000],
    ["Wed Oct 21 07:28:05 2015", 5_000],
    [null, undefined],
    ["", undefined],
    ["1e3", undefined],
    ["0x10", undefined],
    ["3.5", undefined],
    ["3600", 3_600_000],
    ["3601", 3_600_000],
    ["99999999999999999999999", 3_600_000],
    ["Thu, 22 Oct 2015 07:28:00 GMT", 3_600_000],
    // Only the three HTTP-date forms: what a lenient Date.parse takes is refused.
    ["abc 5", undefined],
    ["Tue 40000", undefined],
    ["Mon", undefined],
    ["Wed, 21 Oct 2015 07:28:30", undefined],
    ["Wed, 21 Oct 2015 07:28:30 PST", undefined],
    ["Wed, 21 Oct 2015 07:28:30 GMT+2400", undefined],
    ["Wed, 31 Feb 2015 07:28:30 GMT", undefined],
    ["Wed, 21 Oct 2015 24:28:30 GMT", undefined],
    ["Wed Oct  1 07:28:05 2015", 0],
    ["Thursday, 22-Oct-15 07:28:00 GMT", 3_600_000],
  ])("parseRetryAfter(%j) -> %p", (value, expected) => {
    expect(parseRetryAfter(value, Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(expected);
  });

  test("parseRetryAfter takes another cap", () => {
    expect(parseRetryAfter("120", 0, 60_000)).toBe(60_000);
    expect(parseRetryAfter("30", 0, 60_000)).toBe(30_000);
  });

  test.each([
    [10 * 1024 * 1024, "10 MiB"],
    [64 * 1024, "64 KiB"],
    [1000, "1000 bytes"],
  ])("formatBytes(%d) -> %s", (bytes, expected) => {
    expect(formatBytes(bytes)).toBe(expected);
  });
});

describe("a name that does not exist", () => {
  // `.invalid` never resolves (RFC 2606); with allowPrivate the fetch resolves the name itself.
  test("fails for good with the guard's wording, with or without allowPrivate", async () => {
    for (const options of [local, { timeoutMs: 5000 }]) {
      const err = await fetchPage("http://no-such-host.invalid/", options).catch((e) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect(err.message).toBe("could not resolve no-such-host.invalid: no such host");
    }
  });
});
