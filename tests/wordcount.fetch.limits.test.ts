// fetchPage against servers that misbehave on purpose, for the limits that must hold whatever a
// server does: body size (a 50 MiB stream, a gzip bomb) with memory staying bounded, time (a
// server that drips one byte a second, one that never answers), content types, connection
// resets, and redirects from a public address into the private network.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { PermanentError, RetryableError } from "../lib/errors.ts";
import { fetchPage } from "../lib/tasks/wordcount/fetch.ts";
import type { LookupFn } from "../lib/tasks/wordcount/guard.ts";
import { wordCountDefaults } from "../lib/tasks/wordcount/options.ts";

const MiB = 1024 * 1024;
const LIMIT = wordCountDefaults.maxBodyBytes;

// Multi-member gzip: one 1 MiB member of zeros (about 1 KiB compressed) repeated 1024 times
// inflates to 1 GiB from about 1 MiB on the wire, built in milliseconds.
const member = Bun.gzipSync(new Uint8Array(MiB), { level: 9 });
const bomb = new Uint8Array(member.byteLength * 1024);
for (let i = 0; i < 1024; i += 1) bomb.set(member, i * member.byteLength);

/** Bytes the 50 MiB stream has produced: pull-based, so it only makes what is read. */
let produced = 0;

function fiftyMiB(): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  produced = 0;
  return new ReadableStream({
    pull(controller) {
      if (produced >= 50 * MiB) return controller.close();
      controller.enqueue(chunk);
      produced += chunk.byteLength;
    },
  });
}

function drip(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      await Bun.sleep(1000);
      controller.enqueue(new Uint8Array([0x61]));
    },
  });
}

function route(request: Request): Response {
  const { pathname } = new URL(request.url);
  const typed = (body: BodyInit, type: string, extra: Record<string, string> = {}) =>
    new Response(body, { headers: { "content-type": type, ...extra } });
  switch (pathname) {
    case "/50mib":
      return typed(fiftyMiB(), "text/html");
    case "/bomb":
      return typed(bomb, "text/html", { "content-encoding": "gzip" });
    case "/drip":
      return typed(drip(), "text/plain");
    case "/json":
      return typed('{"words": 3}', "application/json");
    case "/pdf":
      return typed("%PDF-1.7\n", "application/pdf; qs=0.9");
    case "/to-loopback":
      return Response.redirect(`http://127.0.0.1:${server.port}/ok`, 302);
    case "/to-intranet":
      return Response.redirect(`http://intranet.example:${server.port}/ok`, 307);
    default:
      return typed("<p>ok</p>", "text/html");
  }
}

// Raw TCP for what Bun.serve will not do: answer nothing, or cut the connection mid-body.
function rawServer(onData: (socket: Socket<undefined>) => void): TCPSocketListener<undefined> {
  return Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: onData } });
}

let server: ReturnType<typeof Bun.serve>;
/** The same routes on 127.0.0.2, standing for a public site (let through by allowAddresses). */
let edge: ReturnType<typeof Bun.serve>;
let silent: TCPSocketListener<undefined>;
let resetting: TCPSocketListener<undefined>;
const local = { allowPrivate: true, timeoutMs: 10_000 };
const at = (path: string) => `http://127.0.0.1:${server.port}${path}`;

beforeAll(() => {
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: route });
  edge = Bun.serve({ hostname: "127.0.0.2", port: 0, fetch: route });
  silent = rawServer(() => {});
  resetting = rawServer((socket) => {
    socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n");
    socket.write("<p>the first words and then");
    // Closing without the promised bytes, as a crashing server or a reset connection does.
    socket.terminate();
  });
});

afterAll(() => {
  server.stop(true);
  edge.stop(true);
  silent.stop(true);
  resetting.stop(true);
});

/** The error `promise` rejects with; a fetch that succeeds fails the test. */
const failure = (promise: Promise<unknown>): Promise<Error> =>
  promise.then(
    () => Promise.reject(new Error("expected the fetch to fail")),
    (err: Error) => err,
  );

/** The fetch's error, and how much the process grew (RSS, MiB) while it ran. */
async function measured(url: string): Promise<{ err: Error; growthMiB: number }> {
  Bun.gc(true);
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 1);
  const err = await failure(fetchPage(url, local));
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { err, growthMiB: (peak - before) / MiB };
}

describe("body size is cut off at the limit, with memory bounded", () => {
  // Loose on purpose: Bun's allocator and GC add noise, but reading either body whole would
  // take 50 MiB or 1 GiB more than the limit allows.
  const MAX_GROWTH_MIB = 256;

  test("a 50 MiB body stops being read soon after 10 MiB", async () => {
    const { err, growthMiB } = await measured(at("/50mib"));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(`page is larger than 10 MiB: ${at("/50mib")}`);
    // The server only produces what is read, plus what socket buffers hold.
    expect(produced).toBeLessThan(LIMIT + 16 * MiB);
    expect(growthMiB).toBeLessThan(MAX_GROWTH_MIB);
  });

  test("a gzip bomb (1 MiB inflating to 1 GiB) is cut off by bytes after decompression", async () => {
    const { err, growthMiB } = await measured(at("/bomb"));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(`page is larger than 10 MiB: ${at("/bomb")}`);
    expect(growthMiB).toBeLessThan(MAX_GROWTH_MIB);
  });
});

describe("time is bounded", () => {
  test("a server that drips one byte a second", async () => {
    const started = performance.now();
    const err = await failure(fetchPage(at("/drip"), { ...local, timeoutMs: 1500 }));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toBe(`timed out after 1500 ms fetching ${at("/drip")}`);
    // A deadline is a window, so time is the point: a byte a second never trips a per-read
    // timeout, only a deadline for the whole fetch, ending it at 1.5 s. Not before (a timer
    // does not fire early), and well before 3 s (1.5 s of margin for a loaded machine).
    const tookMs = performance.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(1_450);
    expect(tookMs).toBeLessThan(3_000);
  });

  test("a server that accepts the connection and never answers", async () => {
    const url = `http://127.0.0.1:${silent.port}/`;
    const err = await failure(fetchPage(url, { ...local, timeoutMs: 300 }));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toBe(`timed out after 300 ms fetching ${url}`);
  });
});

describe("content types and connections", () => {
  test.each([
    ["/json", "application/json"],
    ["/pdf", "application/pdf"],
  ])("%s fails for good, naming the type", async (path, type) => {
    const err = await failure(fetchPage(at(path), local));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(`unsupported content type ${type} from ${at(path)}`);
  });

  test("a connection cut mid-body is worth a retry", async () => {
    const url = `http://127.0.0.1:${resetting.port}/`;
    const err = await failure(fetchPage(url, local));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toBe(
      `could not fetch ${url}: connection failed ` +
        "(the server closed the connection before the page was complete, ECONNRESET)",
    );
  });
});

describe("a public page that redirects into the private network", () => {
  // The first hop, public.example, is our server on 127.0.0.2, which allowAddresses lets
  // through; where its redirect points is checked again, after resolving it, and refused.
  const options = {
    lookup: (async (name) => [
      { address: name === "intranet.example" ? "10.1.2.3" : "127.0.0.2" },
    ]) satisfies LookupFn,
    allowAddresses: ["127.0.0.2"],
  };
  const first = (path: string) => `http://public.example:${edge.port}${path}`;

  test("to a loopback address", async () => {
    const err = await failure(fetchPage(first("/to-loopback"), options));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(
      `refused to fetch ${at("/ok")}: 127.0.0.1 is a loopback address ` +
        "(start the worker with --allow-private to allow it)",
    );
  });

  test("to a name that resolves to a private address", async () => {
    const err = await failure(fetchPage(first("/to-intranet"), options));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toBe(
      `refused to fetch http://intranet.example:${server.port}/ok: intranet.example resolves ` +
        "to 10.1.2.3, a private address (start the worker with --allow-private to allow it)",
    );
  });
});
