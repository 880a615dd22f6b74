// What Courier does without the commands it can live without (NOPERM, isNoPerm in
// lib/redis/cause.ts): a connection goes unnamed without CLIENT SETNAME, and Redis' memory is
// unknown (null) without INFO; any other refusal is still thrown.
import { afterEach, describe, expect, test } from "bun:test";
import { ErrorReply } from "@redis/client";
import { isNoPerm } from "../lib/redis/cause.ts";
import { closeClient } from "../lib/redis/close.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { readMemory } from "../lib/redis/memory.ts";
import { aclUser, dropAclUsers, onEveryNode } from "./fixtures/acl.ts";
import { testPrefix } from "./helpers.ts";

afterEach(dropAclUsers);

describe("isNoPerm", () => {
  test.each([
    [
      "a command refused",
      new ErrorReply("NOPERM User u has no permissions to run the 'info' command"),
      true,
    ],
    ["a key refused", new ErrorReply("NOPERM No permissions to access a key"), true],
    [
      "WRONGTYPE",
      new ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value"),
      false,
    ],
    ["another reply", new ErrorReply("ERR unknown command 'x'"), false],
    ["a lost connection", new Error("connection lost"), false],
    ["nothing", undefined, false],
  ])("%s", (_, err, want) => {
    expect(isNoPerm(err)).toBe(want);
  });
});

describe("a user without what Courier can do without", () => {
  test("without CLIENT SETNAME: connects, unnamed", async () => {
    const url = await aclUser("producer", testPrefix(), "-client|setname");
    const client = await connect(url, { name: "courier-unnamed" });
    try {
      expect(await client.sendCommand(["TIME"])).toHaveLength(2);
    } finally {
      await closeClient(client);
    }
  });

  test("without INFO (taken away once connected): memory unknown, null", async () => {
    const prefix = testPrefix();
    const url = await aclUser("producer", prefix);
    const client = await connect(url);
    try {
      await onEveryNode(["ACL", "SETUSER", `courier-producer-${prefix}`, "-info"]);
      expect(await readMemory(client)).toBeNull();
    } finally {
      await closeClient(client);
    }
  });

  test("another refusal of INFO is thrown", async () => {
    const refused = new ErrorReply("ERR something else");
    const client = { sendCommand: () => Promise.reject(refused) } as unknown as Redis;
    await expect(readMemory(client)).rejects.toBe(refused);
  });
});
