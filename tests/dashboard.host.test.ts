// The Host header and the address the dashboard listens on. A malformed Host (a port that is
// no port, text after the address) is a 400, logged nowhere: it passed the loopback check and
// then failed the request's URL, a 500 with a log line per request. Loopback is told in any
// spelling (`LOCALHOST`, `::ffff:127.0.0.1`, `0:0:0:0:0:0:0:1`, `[::1]`): taken for another
// address, the dashboard warned and turned its Host check off (DNS rebinding then worked).
import { afterEach, describe, expect, test } from "bun:test";
import { hostName } from "../lib/dashboard/auth.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
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
