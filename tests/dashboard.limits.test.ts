// What a hostile or careless client cannot make the dashboard do: hold memory for live
// connections that never read (they are dropped, and capped: 503 beyond the cap), read a huge
// action body (413, with a length or chunked without one), or pass a garbage cursor to Redis
// (400, and no raw Redis error in any answer).
import { afterEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { Live } from "../lib/dashboard/live.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { rawRedis, redisUrl, testPrefix, until } from "./helpers.ts";

const TOKEN = "limits-test-token-0001";
const running: Dashboard[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

async function dashboard(options: { prefix?: string; maxLive?: number } = {}) {
  const d = await startDashboard({
    redisUrl: redisUrl(),
    prefix: options.prefix ?? testPrefix(),
    port: 0,
    token: TOKEN,
    maxLive: options.maxLive,
  });
  running.push(d);
  return d;
}

/**
 * A client that sends `request` and then stops reading (paused: the kernel's buffers fill and
 * the server's writes back up). Resolves once the request is written.
 */
function stalledClient(port: number, request: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(request, () => resolve(s));
      s.pause();
    });
    s.on("error", reject);
    sockets.push(s);
  });
}

/** Sends raw bytes and resolves with everything the server answers until it closes. */
function rawExchange(port: number, parts: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const s = net.connect(port, "127.0.0.1", () => {
      for (const p of parts) s.write(p);
    });
    sockets.push(s);
    s.setEncoding("utf8");
    s.on("data", (chunk) => {
      answer += chunk;
      // Headers and a JSON body are enough: the server need not close a kept-alive socket.
      if (/\r\n\r\n[\s\S]*\}/.test(answer)) resolve(answer);
    });
    s.on("error", reject);
    s.on("close", () => resolve(answer));
  });
}

const eventsRequest = (port: number) =>
  `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;

describe("live connections", () => {
  test("a connection that stops reading is dropped once it is behind; a reader is kept", async () => {
    // Big snapshots, fast: the stalled sockets' kernel buffers fill within a second or two.
    const big = "x".repeat(256 * 1024);
    let sent = 0;
    const live = new Live(async () => ({ n: ++sent, big }), 20, 4);
    // No idle timeout: Bun's own (10 s) would end stalled responses too, fix or no fix.
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: (req) => live.subscribe(req.signal, () => server.timeout(req, 1)),
    });
    try {
      await Promise.all(
        Array.from({ length: 5 }, () => stalledClient(server.port!, eventsRequest(server.port!))),
      );
      const reader = new AbortController();
      const res = await fetch(`http://127.0.0.1:${server.port}/`, { signal: reader.signal });
      const body = res.body!.getReader();
      let reading = true;
      let received = 0;
      const drain = (async () => {
        while (reading) {
          const { value, done } = await body.read();
          if (done) break; // ended: the stall is over (a loop on read() alone would spin)
          received += value.byteLength;
        }
      })().catch(() => {});
      await until(() => live.listeners === 6, "six listeners");
      await until(() => live.listeners === 1, "the stalled connections dropped", 15_000);
      // Their responses ended too (not only forgotten): the server holds one request now.
      await until(() => server.pendingRequests === 1, "the stalled responses ended");
      const before = received;
      await until(() => received > before + big.length, "the reader still receiving");
      expect(live.listeners).toBe(1);
      reading = false;
      reader.abort();
      await drain;
      await until(() => live.listeners === 0, "the reader gone");
    } finally {
      live.close();
      server.stop(true);
    }
  }, 30_000);

  test("beyond --max-live, a live connection is refused with 503 until one closes", async () => {
    const d = await dashboard({ maxLive: 3 });
    const clients = await Promise.all(
      [1, 2, 3].map(() => stalledClient(d.port, eventsRequest(d.port))),
    );
    await until(() => d.liveListeners === 3, "three live connections");
    const refused = await fetch(`${d.url}/api/events`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(((await refused.json()) as { error: string }).error).toBe(
      "too many live connections (3): close a dashboard page, or raise --max-live",
    );
    clients[0]!.destroy();
    await until(() => d.liveListeners === 2, "the closed connection dropped");
    const controller = new AbortController();
    const admitted = await fetch(`${d.url}/api/events`, { signal: controller.signal });
    expect(admitted.status).toBe(200);
    controller.abort();
  });
});

describe("action bodies", () => {
  // A body trigger would accept, but padded past 64 KiB.
  const padded = JSON.stringify({ url: "www.example.org", pad: "x".repeat(70 * 1024) });

  test("a body over 64 KiB with a Content-Length is refused with 413, nothing enqueued", async () => {
    const prefix = testPrefix();
    const d = await dashboard({ prefix });
    const res = await fetch(`${d.url}/api/trigger`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-courier-token": TOKEN },
      body: padded,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "request body over 65536 bytes" });
    await using redis = await rawRedis();
    expect(await redis.sendCommand(["XLEN", `${prefix}:{default}:stream`])).toBe(0);
  });

  test("a chunked body with no length is cut at 64 KiB, before it ends", async () => {
    const d = await dashboard();
    const head = [
      "POST /api/trigger HTTP/1.1",
      `Host: 127.0.0.1:${d.port}`,
      "Content-Type: application/json",
      `X-Courier-Token: ${TOKEN}`,
      "Transfer-Encoding: chunked",
      "",
      "",
    ].join("\r\n");
    // 70 KiB in 7 chunks and no closing chunk: a server that read the whole body would wait.
    const piece = padded.slice(0, 10 * 1024);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    const answer = await rawExchange(d.port, [head, ...Array(7).fill(chunk)]);
    expect(answer).toStartWith("HTTP/1.1 413");
    expect(answer).toContain('{"error":"request body over 65536 bytes"}');
  });
});

describe("bad input never reaches Redis raw", () => {
  test.each([
    "abc",
    "0-0",
    "-1-0",
    "1-",
    "99999999999999999999-0",
    "1-99999999999999999999",
    "18446744073709551616-0",
    "1-2-3",
    "1-0:",
    "1-0:x",
    "1-0:123456",
  ])("cursor %p is a 400", async (cursor) => {
    const d = await dashboard();
    const res = await fetch(`${d.url}/api/dead?cursor=${encodeURIComponent(cursor)}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error:
        "cursor must be the `next` of a previous page (an entry id, and `:<shard>` on a queue of several shards)",
    });
  });

  test("the largest entry id is a cursor; a bad limit is a 400", async () => {
    const d = await dashboard();
    const max = "18446744073709551615-18446744073709551615";
    expect((await fetch(`${d.url}/api/dead?cursor=${max}`)).status).toBe(200);
    // Number() also read hex, exponents, a sign, blanks and a decimal point (s1): 400s, as
    // `dead list --limit` refuses them.
    for (const limit of ["0", "501", "1.5", "x", "0x10", "1e2", "+5", "%205", "1.0", "05"]) {
      expect((await fetch(`${d.url}/api/dead?limit=${limit}`)).status).toBe(400);
      expect((await fetch(`${d.url}/api/jobs?state=dead&limit=${limit}`)).status).toBe(400);
    }
    expect((await fetch(`${d.url}/api/jobs?state=dead&limit=500`)).status).toBe(200);
  });

  test("a key of another type is a 409 naming it, not Redis' own words", async () => {
    const prefix = testPrefix();
    const d = await dashboard({ prefix });
    await using redis = await rawRedis();
    // A list where the dead stream should be: every read of it fails with WRONGTYPE.
    await redis.sendCommand(["RPUSH", `${prefix}:{default}:dead`, "garbage"]);
    const res = await fetch(`${d.url}/api/dead`);
    expect(res.status).toBe(409);
    const { error } = await res.json();
    expect(error).toStartWith(
      `queue default cannot be read: key ${prefix}:{default}:dead holds a list where Courier keeps a stream;`,
    );
    expect(error).not.toContain("WRONGTYPE");
  });
});
