// The Redis URL as node-redis dials it: the host shown in an error is the host dialled (the
// credentials are the authority's, never text after a /, ? or #), a query or a fragment is
// refused (node-redis ignores them: `?password=…` was dropped silently), and the database is
// decimal digits (`/0x1` was database 1, `/1e1` database 10). Usage mistakes: exit 2.
import { describe, expect, test } from "bun:test";
import { ClientOfflineError } from "@redis/client";
import { ConfigError } from "../lib/errors.ts";
import { describeCause } from "../lib/redis/cause.ts";
import { isClusterUrl, maskUrl, validateUrl } from "../lib/redis/url.ts";
import { redisUrl, runCli } from "./helpers.ts";

const HIDDEN =
  "invalid Redis URL (not shown: it may hold a password): an @ comes after a /, ? or #, so where a password would end is unclear; in a user or password write / ? # @ as %2F %3F %23 %40";
const QUERY = (shown: string) =>
  `invalid Redis URL "${shown}": it has a ?query or #fragment, which Redis URLs do not take (a password goes before the host: redis://:PASSWORD@host)`;
// No host (node-redis then dialled 127.0.0.1:6379, a Redis the URL never named) or port 0.
const NO_HOST = (shown: string) =>
  `invalid Redis URL "${shown}": it names no host (this machine is redis://127.0.0.1), expected redis://[user:password@]host[:port][/db]`;
const PORT_0 = (shown: string) =>
  `invalid Redis URL "${shown}": the port must be from 1 to 65535, expected redis://[user:password@]host[:port][/db]`;
const DB = (shown: string) =>
  `invalid Redis URL "${shown}": the database after the host must be a whole number (/0, /1, …), expected redis://[user:password@]host[:port][/db]`;

describe("maskUrl: the authority's credentials only", () => {
  test.each([
    ["redis://127.0.0.1:6492#@127.0.0.1:6491", "redis://***"],
    ["redis://127.0.0.1:6492?a=@127.0.0.1:6491", "redis://***"],
    ["redis://127.0.0.1:6492/?a=@127.0.0.1:6491", "redis://***"],
    ["redis://u:pw@127.0.0.1:6492/?a=@x", "redis://***"],
    ["redis://u:p@ss@h:1/2", "redis://u:***@h:1/2"],
    // A host application's URL through the exported maskUrl: no password left in a query or
    // a fragment (Courier's own messages refuse such a URL first).
    ["redis://127.0.0.1:6492/?password=x", "redis://127.0.0.1:6492/?password=***"],
    ["redis://127.0.0.1:7421?password=s3cretPW", "redis://127.0.0.1:7421?password=***"],
    ["redis://h:1?db=2&password=s3cretPW&tls", "redis://h:1?db=***&password=***&***"],
    ["redis://h:1?s3cretPW", "redis://h:1?***"],
    ["redis://h:1?", "redis://h:1?"],
    ["redis://h:1?a=1&&b", "redis://h:1?a=***&&***"],
    ["redis://u:pw@h:1#s3cretPW", "redis://u:***@h:1#***"],
    ["redis://h:1/0?password=x#s3cretPW", "redis://h:1/0?password=***#***"],
    ["redis://h:1#a?password=s3cretPW", "redis://h:1#***"],
    ["redis://:pw@h:1/?password=s3cretPW", "redis://:***@h:1/?password=***"],
    [
      "redis+cluster://u:pw@a:1,b:2?password=s3cretPW",
      "redis+cluster://u:***@a:1,b:2?password=***",
    ],
    ["redis+cluster://a:1,b:2#s3cretPW", "redis+cluster://a:1,b:2#***"],
    ["rediss://:pw@h", "rediss://:***@h"],
    // A cluster URL's credentials go up to its last @, as its parser reads them.
    ["redis+cluster://u:p/w@a:1,b:2", "redis+cluster://u:***@a:1,b:2"],
    // No `@`: a port that is no port is where a password went (`redis://:PASSWORD`, its `@host`
    // forgotten, or `host:PASSWORD`), masked; a real port, an IPv6 address, shown.
    ["redis://:hunter2", "redis://:***"],
    ["redis://127.0.0.1:hunter2/0", "redis://127.0.0.1:***/***"],
    ["redis://h: hunter2", "redis://h:***"],
    ["redis://[::1]:6379/2", "redis://[::1]:6379/2"],
    ["redis://h:", "redis://h:"],
    ["redis+cluster://a:1,b:hunter2,[::1]:3", "redis+cluster://a:1,b:***,[::1]:3"],
    ["redis+cluster://:hunter2", "redis+cluster://:***"],
    // After the credentials too (r1): `user@host:PASSWORD`, its password where a port goes.
    ["redis://default@127.0.0.1:pw-secret9", "redis://***@127.0.0.1:***"],
    ["redis://u:p@h:pw-k/0", "redis://u:***@h:***/***"],
    ["redis+cluster://u:p@a:1,b:pw-k", "redis+cluster://u:***@a:1,b:***"],
    ["redis://u:p@[::1]:6379/2", "redis://u:***@[::1]:6379/2"],
    // A password with a `/` in it where a port goes (base64): its rest is masked too (r2).
    ["redis://default@127.0.0.1:Zm9v/YmFyc2VjcmV0+x", "redis://***@127.0.0.1:***/***"],
    ["redis://127.0.0.1:Zm9v/YmFy?db=1", "redis://127.0.0.1:***/***?db=***"],
    ["redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"],
  ])("%s → %s", (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });
});

describe("validateUrl", () => {
  test.each([
    ["redis://127.0.0.1:6492#@127.0.0.1:6491", HIDDEN],
    ["redis://127.0.0.1:6492?a=@127.0.0.1:6491", HIDDEN],
    ["redis://u:se/cret@host:1", HIDDEN],
    ["redis://:pa#ss@host:1", HIDDEN],
    ["redis://127.0.0.1:6492/?password=ssWORD", QUERY("redis://127.0.0.1:6492")],
    ["redis://:pw@h:1/0?db=2", QUERY("redis://:***@h:1/0")],
    ["redis://h:1#frag", QUERY("redis://h:1")],
    ["redis://h:1/?", QUERY("redis://h:1")],
    ["redis://h:1/0x1", DB("redis://h:1/0x1")],
    ["redis://h:1/1e1", DB("redis://h:1/1e1")],
    ["redis://h:1/-1", DB("redis://h:1/-1")],
    ["redis://h:1/1.5", DB("redis://h:1/1.5")],
    ["redis://h:1/%31", DB("redis://h:1/%31")],
    ["redis://h:1/1/2", DB("redis://h:1/1/2")],
    ["redis://:pw@h:1/2147483648", DB("redis://:***@h:1/2147483648")],
    ["redis://", NO_HOST("redis://")],
    ["rediss:///0", NO_HOST("rediss:///0")],
    ["redis://h:0", PORT_0("redis://h:0")],
    ["redis://[::1]:00/1", PORT_0("redis://[::1]:00/1")],
  ])("%s is refused", (url, message) => {
    expect(() => validateUrl(url)).toThrow(new ConfigError(message));
  });

  test.each([
    "redis://h",
    "redis://h:1/",
    "redis://h:1/0",
    "redis://h:1/15",
    "redis://h:1/99",
    "redis://u:p@ss@h:1/2147483647",
    "rediss://:s3%2Fcr%23t@h:1/007",
  ])("%s is taken", (url) => {
    expect(() => validateUrl(url)).not.toThrow();
  });
});

describe("the commands", () => {
  test("the R91 address: refused (exit 2), nothing dialled, no host shown", async () => {
    const r = await runCli("info", ["--redis-url", "redis://127.0.0.1:6492#@127.0.0.1:6491"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`info: ${HIDDEN}\nRun with --help to see the options.\n`);
  });

  test.each([
    "redis://:hunter2",
    "redis://127.0.0.1:hunter2",
    "redis+cluster://:hunter2",
    "redis+cluster://127.0.0.1:7001?password=hunter2",
    "redis+cluster://127.0.0.1:7001,127.0.0.1:7002#hunter2",
    "redis+cluster://127.0.0.1:7001/?password=hunter2",
  ])("%s is refused (exit 2), its password not shown", async (url) => {
    const r = await runCli("info", ["--redis-url", url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("info: invalid Redis URL");
    expect(r.stderr).not.toContain("hunter2");
  });

  test("?password= is refused, and not shown", async () => {
    const r = await runCli("info", ["--redis-url", "redis://127.0.0.1:6492/?password=ssWORD"]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain("ssWORD");
  });

  test.skipIf(isClusterUrl(redisUrl()))(
    "a database this Redis has not: exit 6, saying which setting bounds it",
    async () => {
      const r = await runCli("info", ["--redis-url", `${redisUrl().replace(/\/\d*$/, "")}/99`]);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain("ERR DB index is out of range (the database in the Redis URL");
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    },
  );

  test("describeCause names the databases setting for SELECT's refusal only", () => {
    expect(describeCause(new Error("ERR DB index is out of range"))).toBe(
      "ERR DB index is out of range (the database in the Redis URL, /N, is beyond what this Redis has: its `databases` setting, 16 by default, allows /0 to /15)",
    );
    expect(describeCause(new Error("ERR value is out of range"))).toBe("ERR value is out of range");
  });

  test("describeCause: a command refused while the client reconnects is `not connected`", () => {
    // node-redis' own words, "The client is offline", say less to a user than ours.
    expect(describeCause(new ClientOfflineError())).toBe("not connected");
  });
});
