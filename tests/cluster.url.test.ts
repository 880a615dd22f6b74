// A Redis Cluster's URL (seeds, credentials, TLS; masked; malformed = bad usage) and the key
// each raw command is routed by: pure tables, no Redis.
import { describe, expect, test } from "bun:test";
import { ConfigError } from "../lib/errors.ts";
import { commandKey, isBlocking } from "../lib/redis/route.ts";
import {
  clusterNodeUrl,
  isClusterUrl,
  maskUrl,
  parseClusterUrl,
  tlsCa,
  validateUrl,
} from "../lib/redis/url.ts";

describe("parseClusterUrl", () => {
  test.each([
    [
      "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
      { seeds: [h("127.0.0.1", 7000), h("127.0.0.1", 7001)], tls: false },
    ],
    ["rediss+cluster://node-a.example:6380/", { seeds: [h("node-a.example", 6380)], tls: true }],
    ["REDIS+CLUSTER://a", { seeds: [h("a", 6379)], tls: false }],
    ["redis+cluster://[::1]:7000,b:7001", { seeds: [h("::1", 7000), h("b", 7001)], tls: false }],
    [
      "redis+cluster://alice:s%40cret@a:1,b:2",
      { seeds: [h("a", 1), h("b", 2)], tls: false, username: "alice", password: "s@cret" },
    ],
    ["redis+cluster://:pw@a:1", { seeds: [h("a", 1)], tls: false, password: "pw" }],
    // A lone field is the password, as Redis takes it (and maskUrl masks it).
    ["redis+cluster://token@a:1", { seeds: [h("a", 1)], tls: false, password: "token" }],
    // Everything up to the last @ is credentials: an unencoded @ or / stays in the password.
    [
      "redis+cluster://u:p@ss/w@a:1",
      { seeds: [h("a", 1)], tls: false, username: "u", password: "p@ss/w" },
    ],
  ])("%s", (url, parsed) => {
    expect(parseClusterUrl(url)).toEqual(parsed);
    expect(() => validateUrl(url)).not.toThrow();
    expect(isClusterUrl(url)).toBe(true);
  });

  test.each([
    ["redis+cluster://", '"" is not host:port'],
    ["redis+cluster://a:1,", '"" is not host:port'],
    ["redis+cluster://a:99999", '"a:99999" is not host:port'],
    ["redis+cluster://a:0", '"a:0" is not host:port'],
    ["redis+cluster://a:1/0", '"a:1/0" is not host:port'],
    ["redis+cluster://a:1?x=1", '"a:1?x=***" is not host:port'],
    // A seed's query, fragment or a port that is no port may hold a password: masked.
    ["redis+cluster://a:1?password=hunter2", '"a:1?password=***" is not host:port'],
    ["redis+cluster://a:1,b:2#hunter2", '"b:2#***" is not host:port'],
    ["redis+cluster://:hunter2", '":***" is not host:port'],
    ["redis+cluster://a b:1", '"a b:1" is not host:port'],
    ["redis+cluster://bob:hunter2@a:x", '"a:***" is not host:port'],
    ["redis+cluster://bob:%E0%A4%A@a:1", "not percent-encoded"],
  ])("%s is refused: %s", (url, why) => {
    const err = catchError(() => validateUrl(url));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(why);
    expect(err.message).toContain(
      "expected redis+cluster://[user:password@]host:port[,host:port…]",
    );
    expect(err.message).not.toContain("hunter2");
    expect(err.message).not.toContain("\n");
  });

  test("another scheme is refused naming the cluster ones too", () => {
    const err = catchError(() => validateUrl("redis-cluster://a:1"));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("redis+cluster:// or rediss+cluster://");
  });

  test.each(["redis://a:1", "rediss://a", "http://x", "redis+clusterx://a"])(
    "%s is not a cluster URL",
    (url) => expect(isClusterUrl(url)).toBe(false),
  );
});

test("rediss+cluster:// trusts the CA in REDIS_TLS_CA, as rediss:// does", () => {
  const saved = process.env.REDIS_TLS_CA;
  process.env.REDIS_TLS_CA = import.meta.path; // any readable file stands in for a PEM
  try {
    expect(tlsCa("rediss+cluster://a:1,b:2")).toBeString();
    expect(tlsCa("rediss+cluster://a:1,b:2")).toBe(tlsCa("rediss://a:1"));
    expect(tlsCa("redis+cluster://a:1")).toBeUndefined();
  } finally {
    if (saved === undefined) delete process.env.REDIS_TLS_CA;
    else process.env.REDIS_TLS_CA = saved;
  }
});

test.each([
  ["redis+cluster://a:1,b:2", "redis+cluster://a:1,b:2"],
  ["redis+cluster://bob:hunter2@a:1,b:2", "redis+cluster://bob:***@a:1,b:2"],
  ["rediss+cluster://hunter2@a:1", "rediss+cluster://***@a:1"],
  ["redis+cluster://u:p@ss@a:1,b:2/", "redis+cluster://u:***@a:1,b:2"],
])("maskUrl(%s) is %s", (url, masked) => {
  expect(maskUrl(url)).toBe(masked);
});

// What an unanswered command's error names (lib/redis/answer.ts): the node it went to, with
// the URL's credentials masked as maskUrl masks them; the URL as it is when the node is unknown.
test.each([
  ["redis+cluster://a:1,b:2", { host: "10.0.0.7", port: 7001 }, "redis+cluster://10.0.0.7:7001"],
  ["redis+cluster://bob:hunter2@a:1,b:2/", { host: "b", port: 2 }, "redis+cluster://bob:***@b:2"],
  ["rediss+cluster://hunter2@a:1", { host: "c", port: 3 }, "rediss+cluster://***@c:3"],
  ["redis+cluster://u:p@ss@a:1", { host: "::1", port: 7000 }, "redis+cluster://u:***@[::1]:7000"],
  ["redis+cluster://u:pw@a:1,b:2", { host: "b" }, "redis+cluster://u:***@a:1,b:2"],
  ["redis://u:pw@a:1", { host: "b", port: 2 }, "redis://u:***@a:1"],
])("clusterNodeUrl(%s, %o), masked, is %s", (url, node, shown) => {
  expect(maskUrl(clusterNodeUrl(url, node))).toBe(shown);
});

describe("the key a command is routed by", () => {
  test.each([
    [["HSET", "k", "f", "v"], "k"],
    [["EVALSHA", "abc", "2", "k1", "k2", "a"], "k1"],
    [["eval", "return 1", "0"], undefined],
    [["FCALL", "f", "1", "k"], "k"],
    [["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "BLOCK", "5", "STREAMS", "s", ">"], "s"],
    // A consumer named STREAMS is not the STREAMS word.
    [["XREADGROUP", "GROUP", "g", "STREAMS", "STREAMS", "s", ">"], "s"],
    [["XREAD", "COUNT", "1", "STREAMS", "e", "0"], "e"],
    [["XINFO", "GROUPS", "s"], "s"],
    [["XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"], "s"],
    [["MEMORY", "USAGE", "k"], "k"],
    [["MEMORY", "STATS"], undefined],
    [["OBJECT", "ENCODING", "k"], "k"],
    [["TIME"], undefined],
    [["INFO", "memory"], undefined],
    [["CONFIG", "GET", "maxmemory"], undefined],
    [["CLIENT", "SETNAME", "x"], undefined],
    [["WAIT", "1", "100"], undefined],
    [["SCRIPT", "LOAD", "return 1"], undefined],
    [["SCAN", "0", "MATCH", "p*"], undefined],
    [["multi"], undefined],
    [["EXEC"], undefined],
    [["DISCARD"], undefined],
    [["PING"], undefined],
    [["DBSIZE"], undefined],
  ])("%j → %s", (args, key) => {
    expect(commandKey(args)).toBe(key);
  });

  test.each([
    [["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"], true],
    [["xread", "block", "10", "streams", "s", "$"], true],
    [["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"], false],
    // A stream named BLOCK after STREAMS is no BLOCK option; a consumer named BLOCK neither.
    [["XREAD", "STREAMS", "BLOCK", "0"], false],
    [["XREADGROUP", "GROUP", "g", "BLOCK", "STREAMS", "s", ">"], false],
    [["BLPOP", "l", "1"], true],
    [["BZPOPMIN", "z", "1"], true],
    [["WAIT", "1", "100"], false],
    [["GET", "BLOCK"], false],
  ])("%j blocks: %s", (args, blocking) => {
    expect(isBlocking(args)).toBe(blocking);
  });
});

function h(host: string, port: number) {
  return { host, port };
}

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("did not throw");
}
