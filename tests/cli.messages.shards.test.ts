// What a bad --shards or cluster URL prints: the value as given, its control characters shown
// escaped (not stripped, which hid what was wrong), and a cluster URL with no node shown as
// given (`redis+cluster://`, not `redis+cluster:/`); the message on one line, then the hint.
import { expect, test } from "bun:test";
import { maskUrl } from "../lib/redis/url.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { runCli } from "./helpers.ts";

const ESC = "\x1b";
const NO_REDIS = ["--redis-url", "redis://127.0.0.1:1"];
const url = ["--url", "https://example.org/"];

const cases: [string, string, string[], string][] = [
  [
    "trigger --shards 6<ESC>[31m",
    "trigger",
    [...url, ...NO_REDIS, "--shards", `6${ESC}[31m`],
    '--shards must be a whole number from 1 to 1024, got "6\\x1b[31m"',
  ],
  [
    "worker --shards 6<ESC>[31m",
    "worker",
    [...NO_REDIS, "--shards", `6${ESC}[31m`],
    'got "6\\x1b[31m"',
  ],
  [
    "worker --concurrency 2<ESC>[0m",
    "worker",
    [...NO_REDIS, "--concurrency", `2${ESC}[0m`],
    'got "2\\x1b[0m"',
  ],
  [
    "trigger --redis-url redis+cluster://",
    "trigger",
    [...url, "--redis-url", "redis+cluster://"],
    'invalid Redis URL "redis+cluster://": "" is not host:port',
  ],
];

test.each(cases)("%s", async (what, cli, args, message) => {
  // The first through a real process, the others in this one (runUsage: the same runCli).
  const r = what === cases[0]![0] ? await runCli(cli, args) : await runUsage(cli, args);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(message);
  expect(r.stderr).not.toContain(ESC);
  // The message on one line, then the hint every bad option gets (docs/cluster.md).
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(2);
  expect(r.stderr.trimEnd().split("\n")[1]).toBe("Run with --help to see the options.");
});

test.each([
  ["redis+cluster://", "redis+cluster://"],
  ["rediss+cluster://", "rediss+cluster://"],
  ["redis://", "redis://"],
  ["redis://h:1/", "redis://h:1"],
  ["redis+cluster://u:pw@h:1/", "redis+cluster://u:***@h:1"],
])("maskUrl(%p) is %p", (given, shown) => {
  expect(maskUrl(given)).toBe(shown);
});
