// The Host header and the address the dashboard listens on. A malformed Host (a port that is
// no port, text after the address) is a 400, logged nowhere: it passed the loopback check and
// then failed the request's URL, a 500 with a log line per request. Loopback is told in any
// spelling (`LOCALHOST`, `::ffff:127.0.0.1`, `0:0:0:0:0:0:0:1`, `[::1]`): taken for another
// address, the dashboard warned and turned its Host check off (DNS rebinding then worked).
// No Host at all (HTTP/1.0 allows it) is a 400 too: off loopback it was a 500 and a log line.
import { afterEach, describe, expect, test } from "bun:test";
import { lookup } from "node:dns/promises";
import { hostname } from "node:os";
import { checkHost, hostName, isLoopback, listenAddress } from "../lib/dashboard/auth.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { hostPort } from "../lib/worker/health.ts";
import { rawRequest } from "./fixtures/raw-http.ts";
import { redisUrl, testPrefix } from "./helpers.ts";

const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

async function dashboard(host?: string): Promise<Dashboard> {
  const d = await startDashboard({ redisUrl: redisUrl(), prefix: testPrefix(), port: 0, host });
  running.push(d);
  return d;
}

describe("a malformed Host header", () => {
  test.each([
    ["localhost:abc"],
    ["127.0.0.1:99999"],
    ["[::1]x"],
    ["localhost:9411/x"],
    ["localhost:"],
    ["[::1"],
    ["[zz]:80"],
    ["local host"],
    ["a@localhost"],
  ])("Host: %p is 400, nothing logged", async (host) => {
    const d = await dashboard();
    const logged: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => logged.push(String(chunk)) > 0) as typeof write;
    try {
      for (const path of ["/api/overview", "/nowhere", "/"]) {
        const res = await fetch(d.url + path, { headers: { host } });
        expect({ path, status: res.status, body: await res.json() }).toEqual({
          path,
          status: 400,
          body: {
            error: "malformed Host header: a host name or address, and a port from 0 to 65535",
          },
        });
      }
    } finally {
      process.stderr.write = write;
    }
    expect(logged).toEqual([]);
  });

  test.each([
    ["localhost", "localhost"],
    ["LOCALHOST:9181", "LOCALHOST"],
    ["127.0.0.1:1", "127.0.0.1"],
    ["[::1]:65535", "[::1]"],
    ["my_host.example", "my_host.example"],
    ["localhost:9411/x", null],
    ["[::1]x", null],
    ["localhost:99999", null],
    ["", null],
  ])("hostName(%p) is %p", (header, name) => {
    expect(hostName(header)).toBe(name);
  });
});

describe("no Host header (HTTP/1.0)", () => {
  test.each([["127.0.0.1"], ["0.0.0.0"]])(
    "--host %s: 400 saying so, nothing logged",
    async (host) => {
      const d = await dashboard(host);
      const logged: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((chunk: string) => logged.push(String(chunk)) > 0) as typeof write;
      try {
        for (const path of ["/api/overview", "/metrics", "/nowhere"]) {
          const answer = await rawRequest(d.port, `GET ${path} HTTP/1.0\r\n\r\n`);
          expect({
            path,
            head: answer.split("\r\n")[0],
            body: answer.split("\r\n\r\n")[1],
          }).toEqual({
            path,
            head: "HTTP/1.1 400 Bad Request",
            body: '{"error":"no Host header: send the dashboard\'s host name or address in one"}',
          });
        }
      } finally {
        process.stderr.write = write;
      }
      expect(logged).toEqual([]);
    },
  );
});

describe("loopback in any spelling", () => {
  test.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["localhost", true],
    ["LOCALHOST", true],
    ["LocalHost", true],
    ["::1", true],
    ["[::1]", true],
    ["0:0:0:0:0:0:0:1", true],
    ["[0:0:0:0:0:0:0:1]", true],
    ["::ffff:127.0.0.1", true],
    ["[::FFFF:127.1.2.3]", true],
    ["::ffff:7f00:1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["::ffff:10.0.0.1", false],
    ["127.0.0.256", false],
    ["128.0.0.1", false],
    ["localhost.evil.example", false],
    ["10.0.0.1", false],
    ["example.org", false],
  ])("isLoopback(%p) is %p", (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });

  test.each([
    ["127.0.0.1", "127.0.0.1:80"],
    ["::1", "[::1]:80"],
    ["[::1]", "[::1]:80"],
    ["localhost", "localhost:80"],
  ])("hostPort(%p, 80) is %p", (host, shown) => {
    expect(hostPort(host, 80)).toBe(shown);
  });

  test("--host LOCALHOST: loopback, and the Host check is on", async () => {
    const d = await dashboard("LOCALHOST");
    expect(d.loopback).toBe(true);
    const res = await fetch(`http://127.0.0.1:${d.port}/api/overview`, {
      headers: { host: "evil.example" },
    });
    expect(res.status).toBe(421);
  });

  test("--host [::1]: the URL has one pair of brackets, and the Host check is on", async () => {
    const d = await dashboard("[::1]");
    expect(d.url).toBe(`http://[::1]:${d.port}`);
    expect(d.loopback).toBe(true);
    const res = await fetch(`${d.url}/api/overview`, { headers: { host: "evil.example" } });
    expect(res.status).toBe(421);
  });
});

// A name that resolves to loopback only (Debian's /etc/hosts maps the machine's own name to
// 127.0.1.1) was judged by its spelling: not loopback, so the dashboard warned and turned its
// Host check off while it listened on 127.0.0.1 (DNS rebinding then read every payload).
const own = hostname();
const ownIsLoopback = await lookup(own, { all: true }).then(
  (a) => a.length > 0 && a.every((x) => isLoopback(x.address)),
  () => false,
);

describe("--host NAME that resolves to loopback", () => {
  const answers =
    (...addresses: string[]) =>
    async () =>
      addresses.map((address) => ({ address }));
  test.each([
    [["127.0.1.1"], { hostname: "127.0.1.1", loopback: true }],
    [["::1", "127.0.0.1"], { hostname: "::1", loopback: true }],
    [["127.0.0.1", "192.168.1.5"], { hostname: "box", loopback: false }],
    [["10.0.0.7"], { hostname: "box", loopback: false }],
    [[], { hostname: "box", loopback: false }],
  ])("resolving to %j: listens on %j", async (addresses, where) => {
    expect(await listenAddress("box", answers(...addresses))).toEqual(where);
  });

  test.each([
    ["127.0.0.1", true],
    ["LOCALHOST", true],
    ["[::1]", true],
    ["0.0.0.0", false],
    ["10.0.0.1", false],
  ])("%p is listened on as given, never looked up", async (host, loopback) => {
    const never = async () => {
      throw new Error("looked up");
    };
    expect(await listenAddress(host, never)).toEqual({ hostname: host, loopback });
  });

  test.each([
    ["box:9181", true],
    ["BOX", true],
    ["localhost:9181", true],
    ["127.0.0.1:9181", true],
    ["evil.example:9181", false],
    ["box.evil.example", false],
  ])("listening on loopback as `box`, a Host of %p passes: %p", (host, ok) => {
    const req = new Request("http://127.0.0.1:9181/api/overview", { headers: { host } });
    expect(checkHost(req, true, "box").ok).toBe(ok);
  });

  test("the refusal names the hosts it answers to: its own name too", () => {
    const req = new Request("http://127.0.0.1:9181/", { headers: { host: "evil.example" } });
    expect(checkHost(req, true, "box")).toMatchObject({
      status: 421,
      error: "this dashboard answers to localhost or box only, not evil.example",
    });
    expect(checkHost(req, true, "127.0.0.1")).toMatchObject({
      error: "this dashboard answers to localhost only, not evil.example",
    });
  });

  test("a name that does not resolve is listened on as given (Bun.serve says why it cannot)", async () => {
    const fails = async () => {
      throw Object.assign(new Error("nope"), { code: "ENOTFOUND" });
    };
    expect(await listenAddress("nowhere.invalid", fails)).toEqual({
      hostname: "nowhere.invalid",
      loopback: false,
    });
  });

  test.skipIf(!ownIsLoopback)("--host <this machine's name>: loopback, Host check on", async () => {
    const d = await dashboard(own);
    expect(d.loopback).toBe(true);
    const res = await fetch(`http://127.0.0.1:${d.port}/api/overview`, {
      headers: { host: "evil.example" },
    });
    expect(res.status).toBe(421);
    // Its own name passes: the URL it prints works (r1: every request to it was a 421).
    expect(d.url).toBe(`http://${own}:${d.port}`);
    const named = await fetch(`http://127.0.0.1:${d.port}/api/overview`, {
      headers: { host: `${own.toUpperCase()}:${d.port}` },
    });
    expect(named.status).toBe(200);
  });
});
