// node-redis traces a command only when its TracingChannel's `hasSubscribers` is not false;
// Bun's TracingChannel lacks the property, so lib/redis/tracing.ts defines it as Node does. With
// no subscriber, nothing is traced (no copy of every argument per command); with one, every
// command still is.
import { expect, test } from "bun:test";
import { tracingChannel } from "node:diagnostics_channel";
import { connect } from "../lib/redis/connect.ts";
import { redisUrl } from "./helpers.ts";

test("hasSubscribers: false with none, true while one listens, and its commands are traced", async () => {
  const channel = tracingChannel<object, { command: string }>("node-redis:command");
  expect(channel.hasSubscribers).toBe(false);
  const seen: string[] = [];
  const subscriber = { start: (ctx: { command: string }) => void seen.push(ctx.command) };
  const client = await connect(redisUrl());
  try {
    channel.subscribe(subscriber as never);
    expect(channel.hasSubscribers).toBe(true);
    await client.sendCommand(["PING"]);
    channel.unsubscribe(subscriber as never);
    expect(channel.hasSubscribers).toBe(false);
    await client.sendCommand(["ECHO", "unseen"]);
  } finally {
    await client.close();
  }
  expect(seen).toEqual(["PING"]);
});
