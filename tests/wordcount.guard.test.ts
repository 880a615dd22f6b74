import { describe, expect, test } from "bun:test";
import { PermanentError, RetryableError } from "../lib/errors.ts";
import {
  type AddressKind,
  assertPublicHost,
  classifyIp,
  type LookupFn,
  parseIp,
} from "../lib/tasks/wordcount/guard.ts";

const resolvesTo =
  (...addresses: string[]): LookupFn =>
  async () =>
    addresses.map((address) => ({ address }));

describe("classifyIp", () => {
  test.each<[string, AddressKind]>([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["[::ffff:7f00:1]", "loopback"],
    ["2130706433", "loopback"],
    ["0x7f.1", "loopback"],
    ["0177.0.0.1", "loopback"],
    ["127.1", "loopback"],
    ["10.0.0.1", "private"],
    ["10.255.255.255", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["::ffff:192.168.1.1", "private"],
    ["64:ff9b::10.0.0.1", "private"],
    ["2002:7f00:1::", "loopback"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["100.64.0.1", "CGNAT"],
    ["100.127.255.255", "CGNAT"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::1", "multicast"],
    ["0.0.0.0", "unspecified"],
    ["0", "unspecified"],
    ["::", "unspecified"],
    ["fc00::1", "unique-local"],
    ["fdff:ffff::1", "unique-local"],
    ["169.254.169.254", "cloud metadata"],
    ["::ffff:169.254.169.254", "cloud metadata"],
    ["fd00:ec2::254", "cloud metadata"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["192.0.2.1", "reserved"],
    ["2001:db8::1", "reserved"],
    ["8.8.8.8", "public"],
    ["93.184.216.34", "public"],
    ["172.15.255.255", "public"],
    ["172.32.0.0", "public"],
    ["100.128.0.1", "public"],
    ["2606:4700:4700::1111", "public"],
    ["::ffff:8.8.8.8", "reserved"], // IPv4-mapped: refused whatever it maps to
  ])("%s is %s", (ip, kind) => {
    expect(classifyIp(ip)).toBe(kind);
  });

  test("hosts WHATWG URL rewrites are classified by what they reach", () => {
    for (const url of ["http://2130706433/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/"]) {
      expect(classifyIp(new URL(url).hostname)).toBe("loopback");
    }
  });
});

describe("parseIp", () => {
  test.each(["example.org", "abc.def", "localhost", "1.2.3.4.example", "xn--bcher-kva.de"])(
    "%s is a name, not an IP",
    (name) => {
      expect(parseIp(name)).toBeNull();
    },
  );

  test.each([
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1::2::3",
    "::g",
    "::ffff:1.2.3",
    "12345::",
    ":1::",
    "1:2:3:4:5:6:7:8::",
  ])("%s is not a valid IPv6 literal", (text) => {
    expect(parseIp(text)).toBeNull();
  });

  test("expands :: and embedded IPv4", () => {
    expect(parseIp("::ffff:1.2.3.4")).toEqual({ version: 6, value: 0xffff01020304n });
    expect(parseIp("1::")?.value).toBe(1n << 112n);
    expect(parseIp("1.2.3.4")).toEqual({ version: 4, value: 0x01020304n });
  });
});

describe("assertPublicHost", () => {
  test("refuses a loopback literal with a sentence naming the way out", async () => {
    const refused = assertPublicHost("127.0.0.1", resolvesTo(), "http://127.0.0.1:8080/x");
    await expect(refused).rejects.toBeInstanceOf(PermanentError);
    await expect(refused).rejects.toThrow(
      "refused to fetch http://127.0.0.1:8080/x: 127.0.0.1 is a loopback address " +
        "(start the worker with --allow-private to allow it)",
    );
  });

  test("refuses a bracketed IPv6 literal", async () => {
    await expect(assertPublicHost("[fd00:ec2::254]")).rejects.toThrow(
      "fd00:ec2::254 is a cloud metadata address",
    );
  });

  test("never looks up a literal", async () => {
    let lookups = 0;
    const counting: LookupFn = async () => {
      lookups += 1;
      return [];
    };
    await assertPublicHost("8.8.8.8", counting);
    expect(lookups).toBe(0);
  });

  test("accepts a name whose addresses are all public", async () => {
    await expect(
      assertPublicHost("example.org", resolvesTo("93.184.216.34", "2606:2800:220:1::")),
    ).resolves.toEqual(["93.184.216.34", "2606:2800:220:1::"]);
  });

  test("refuses a name if any one of its addresses is private", async () => {
    const refused = assertPublicHost(
      "sneaky.example",
      resolvesTo("93.184.216.34", "10.0.0.1"),
      "https://sneaky.example/",
    );
    await expect(refused).rejects.toThrow(
      "refused to fetch https://sneaky.example/: sneaky.example resolves to 10.0.0.1, a private address",
    );
  });

  test("refuses a name resolving to 0.0.0.0", async () => {
    await expect(assertPublicHost("zero.example", resolvesTo("0.0.0.0"))).rejects.toThrow(
      "zero.example resolves to 0.0.0.0, the unspecified address",
    );
  });

  test("a name that does not exist fails for good", async () => {
    const missing: LookupFn = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND nope.example"), { code: "ENOTFOUND" });
    };
    const refused = assertPublicHost("nope.example", missing);
    await expect(refused).rejects.toBeInstanceOf(PermanentError);
    await expect(refused).rejects.toThrow("could not resolve nope.example: no such host");
  });

  test("a resolver that times out is worth a retry", async () => {
    const flaky: LookupFn = async () => {
      throw Object.assign(new Error("getaddrinfo EAI_AGAIN"), { code: "EAI_AGAIN" });
    };
    await expect(assertPublicHost("slow.example", flaky)).rejects.toBeInstanceOf(RetryableError);
  });

  test("a name with no address fails for good", async () => {
    await expect(assertPublicHost("empty.example", resolvesTo())).rejects.toBeInstanceOf(
      PermanentError,
    );
  });

  test("the real resolver refuses localhost", async () => {
    await expect(assertPublicHost("localhost")).rejects.toThrow(
      /localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
    );
  });
});
