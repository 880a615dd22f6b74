// Which errors a producer's call tries again (lib/redis/cause.ts isTransient): the
// connection's failures and Redis' "not now" replies only. A program's error (a TypeError, an
// InputError) is thrown as it is, at once: tried again it gives the same error, and reported
// after the retries as "Redis at … is unreachable" it hid the real one.
import { expect, test } from "bun:test";
import {
  ErrorReply,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
} from "@redis/client";
import { ConnectError, InputError, NoAnswerError } from "../lib/errors.ts";
import { withRetries } from "../lib/redis/calls.ts";
import { isTransient } from "../lib/redis/cause.ts";
import type { Redis } from "../lib/redis/connect.ts";

const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
  code: "ECONNREFUSED",
});

/** A socket's failed system call as Bun makes it: a class of its own between it and Error (R113). */
class SystemError extends Error {}
const socket = (code: string, syscall = "read") =>
  Object.assign(new SystemError(`${syscall} ${code}`), { code, syscall, errno: -100 });

test.each([
  ["a TypeError", false, new TypeError("chunk.filter is not a function")],
  ["a RangeError", false, new RangeError("Invalid array length")],
  ["an InputError", false, new InputError("bad")],
  ["a refusal", false, new ErrorReply("ERR wrong number of arguments")],
  ["LOADING", true, new ErrorReply("LOADING Redis is loading the dataset in memory")],
  ["a socket closed", true, new SocketClosedUnexpectedlyError()],
  ["ECONNREFUSED", true, refused],
  ["a network down (ENETDOWN) on a live connection", true, socket("ENETDOWN")],
  ["a host down (EHOSTDOWN)", true, socket("EHOSTDOWN")],
  ["a network reset (ENETRESET)", true, socket("ENETRESET")],
  ["any failed socket call (EIO on write)", true, socket("EIO", "write")],
  [
    "a code without a syscall is no socket's",
    false,
    Object.assign(new RangeError("x"), { code: "EX" }),
  ],
  ["both addresses refused", true, new AggregateError([refused, refused])],
  ["no answer", true, new NoAnswerError("no answer")],
  ["a ConnectError", true, new ConnectError("node down")],
  ["the client's plain Error", true, new Error("connection lost")],
  ["a cluster's nodes all away", true, new RootNodesUnavailableError()],
] as [string, boolean, unknown][])("%s: transient %p", (_name, transient, err) => {
  expect(isTransient(err)).toBe(transient);
});

test("a call's TypeError is thrown as it is, at once, not as unreachable after retries", async () => {
  const policy = {
    redisUrl: "redis://127.0.0.1:6379",
    retryConnectS: 1,
    waitForMemoryS: 0,
    reconnectMaxMs: 1_000,
    what: "nothing read",
  };
  let tries = 0;
  const fn = async () => {
    tries++;
    throw new TypeError("chunk.filter is not a function");
  };
  const err = await withRetries({} as Redis, policy, fn).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TypeError);
  expect(tries).toBe(1);
});
