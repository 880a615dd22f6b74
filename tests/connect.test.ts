import { describe, expect, test } from "bun:test";
import { ConfigError, ConnectError } from "../lib/errors.ts";
import { connect } from "../lib/redis/connect.ts";
import { compareVersions } from "../lib/redis/server.ts";
import { maskUrl } from "../lib/redis/url.ts";
import { findFreePort } from "../lib/stack/redis-server.ts";
import { redisUrl } from "./helpers.ts";

describe("maskUrl", () => {
  test.each([
    ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
    ["redis://:secret@host:6379", "redis://:***@host:6379"],
    ["redis://alice:secret@host:6379/2", "redis://alice:***@host:6379/2"],
    ["rediss://alice:s%40cret@host", "rediss://alice:***@host"],
    // An @ after a / (an unencoded one in the password?): nothing after the scheme is shown.
    ["redis://user:se/cret@host:1", "redis://***"],
    ["redis://user:p@ss@host", "redis://user:***@host"],
    // Redis takes a lone user field as the password: it is masked too.
    ["redis://secret-token@host", "redis://***@host"],
    ["redis://secret-token@host:6379/0", "redis://***@host:6379/0"],
    ["rediss://s3cr%2Ft@h", "rediss://***@h"],
    // Not scheme://…: perhaps a password given in place of the URL, so nothing is shown.
    ["redis:/user:secret@host", "***"],
    ["hunter2", "***"],
    ["user:hunter2", "***"],
    ["", "***"],
  ])("%s → %s", (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });
});

test.each([
  ["6.2.0", "6.2.0", 0],
  ["7.0.15", "6.2.0", 1],
  ["6.0.16", "6.2.0", -1],
  ["6.2", "6.2.0", 0],
  ["10.0.0", "6.2.0", 1],
])("compareVersions(%s, %s) is %i", (a, b, expected) => {
  expect(compareVersions(a, b)).toBe(expected);
});

describe("connect", () => {
  test("an unreachable Redis gives one line naming the URL, password masked", async () => {
    const port = await findFreePort();
    const err = await connect(`redis://bob:hunter2@127.0.0.1:${port}`).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.message).toContain(`redis://bob:***@127.0.0.1:${port}`);
    expect(err.message).toContain("ECONNREFUSED");
    expect(err.message).not.toContain("hunter2");
    expect(err.message).not.toContain("\n");
  });

  test("a URL that is not redis:// is refused before connecting, as bad usage", async () => {
    const err = await connect("http://127.0.0.1:6379").catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("redis:// or rediss://");
  });

  test("a bare string in place of the URL is refused without being echoed", async () => {
    const err = await connect("hunter2-is-my-password").catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("not a redis:// URL");
    expect(err.message).not.toContain("hunter2");
  });

  test("the test Redis passes the version check", async () => {
    const client = await connect(redisUrl());
    expect(await client.sendCommand<string>(["PING"])).toBe("PONG");
    client.destroy();
  });
});

test("a Redis older than 6.2 is refused with its version named", async () => {
  // A stand-in server that answers like Redis 5: +OK to everything, and INFO with its version.
  const info = "# Server\r\nredis_version:5.0.14\r\n";
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, data) {
        const text = data.toString();
        const commands = text.split("*").filter((c) => c.trim() !== "");
        for (const c of commands) {
          socket.write(/\bINFO\b/i.test(c) ? `$${info.length}\r\n${info}\r\n` : "+OK\r\n");
        }
      },
    },
  });
  try {
    const err = await connect(`redis://127.0.0.1:${server.port}`).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.message).toContain("version 5.0.14");
    expect(err.message).toContain("6.2.0 or newer");
  } finally {
    server.stop(true);
  }
});
