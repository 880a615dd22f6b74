// Every documented exit code of `result` and `trigger` (bin/_cli.ts EXIT), through the real
// CLIs: 0 finished, 1 failed, 2 bad usage, 3 not finished yet, 4 unknown id, 5 gave up waiting,
// 6 Redis unreachable (or refusing us); a malformed Redis URL is bad usage (2). Also --help of all three commands,
// and `result --wait` with no limit.
import { describe, expect, test } from "bun:test";
import { findFreePort } from "../lib/stack/redis-server.ts";
import {
  backgroundWorker,
  HTML,
  pages,
  showJob,
  streamLength,
  triggerOne,
  workerArgs,
} from "./fixtures/cli/harness.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import {
  clientList,
  onOneServer,
  rawRedis,
  redisUrl,
  runCli,
  spawnCli,
  testPrefix,
  until,
} from "./helpers.ts";

const EXAMPLE = "https://example.org/";
const STACK_FRAME = /^\s+at .+:\d+/m;

/** One page that counts, one that is not there. */
function site() {
  return pages((path) =>
    path === "/ok"
      ? new Response("<p>three small words</p>", { headers: HTML })
      : new Response("gone", { status: 404 }),
  );
}

// Refused before Redis is reached: nothing a cluster changes (not in the cluster pass, where the
// KEYS below would read one node of the cluster anyway).
describe.skipIf(!onOneServer)("exit 2: bad usage, nothing done", () => {
  const cases: [string, string, string[], RegExp][] = [
    ["trigger", "an invalid URL", ["--url", "ftp://x"], /invalid URL "ftp:\/\/x"/],
    ["trigger", "an unknown option", ["--url", EXAMPLE, "--colour"], /unknown option --colour/],
    ["trigger", "neither --url nor --file", [], /--url URL or --file PATH/],
    ["trigger", "--max-attempts 0", ["--url", EXAMPLE, "--max-attempts", "0"], /--max-attempts/],
    ["result", "an unknown option", ["--jobid", "x", "--colour"], /unknown option --colour/],
    ["result", "no job id", [], /^result: give the job id: result ID \(or --jobid ID\)$/m],
    ["result", "two job ids", ["a", "--jobid", "b"], /^result: takes one job id/m],
    [
      "result",
      "only --wait SECONDS",
      ["--wait", "30"],
      /^result: give the job id: result ID \(or --jobid ID\); --wait took "30" as its limit in seconds$/m,
    ],
    [
      "result",
      "--wait with neither seconds nor an id",
      ["--wait", "a b"],
      /^result: --wait takes a number of seconds, not "a b": put the job id first \(result ID --wait\) or use --jobid$/m,
    ],
    ["result", "a malformed bare id", ["a b"], /"a b" is not a job id/],
    ["result", "a malformed job id", ["--jobid", "a b"], /"a b" is not a job id/],
    ["worker", "--concurrency abc", ["--concurrency", "abc"], /--concurrency .*"abc"/],
    ["worker", "an unknown option", ["--colour"], /unknown option --colour/],
    [
      "info",
      "--interval without --watch",
      ["--interval", "2"],
      /^info: --interval goes with --watch/,
    ],
    ["trigger", "an empty standard input", ["--file", "-"], /^trigger: no URLs in standard input/],
    // A value option given twice: the last would win silently (as --url twice is refused).
    ["result", "--jobid twice", ["--jobid", "a", "--jobid", "b"], /^result: give --jobid once\n/],
    [
      "trigger",
      "--queue twice",
      ["--url", EXAMPLE, "--queue", "a", "--queue", "b"],
      /^trigger: give --queue once\n/,
    ],
    [
      "trigger",
      "--max-attempts twice",
      ["--url", EXAMPLE, "--max-attempts", "2", "--max-attempts=3"],
      /^trigger: give --max-attempts once\n/,
    ],
  ];

  // Two through a real process (its exit code; standard input read), the others in this
  // process (runUsage: the same runCli, refused before Redis, ~0.2 s of CPU less each).
  const real = new Set(["an invalid URL", "an empty standard input"]);
  test.each(cases)("%s: %s", async (cli, what, args, message) => {
    const prefix = testPrefix();
    const argv = ["--prefix", prefix, ...args];
    const r = real.has(what)
      ? await runCli(cli, argv, { timeoutMs: 5_000, stdin: "" })
      : await runUsage(cli, argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("Run with --help");
    expect(r.stderr).not.toMatch(STACK_FRAME);
    await using redis = await rawRedis();
    expect(await streamLength(redis, prefix)).toBe(0);
    expect(await redis.sendCommand(["KEYS", `${prefix}:*`])).toEqual([]);
  });
});

describe("exit 6: Redis unreachable or refusing us; exit 2: its URL malformed", () => {
  const clis: Record<string, string[]> = {
    result: ["--jobid", "x"],
    trigger: ["--url", EXAMPLE],
    worker: ["--allow-private"],
  };
  type Case = [cli: string, why: string, url: () => Promise<string>];
  const each = (urls: [string, () => Promise<string>][]): Case[] =>
    Object.keys(clis).flatMap((cli) => urls.map(([why, url]): Case => [cli, why, url]));
  const closedPort = async () => `127.0.0.1:${await findFreePort()}`;

  // Nothing listens on a port that was just free; the test Redis has no user "user".
  // On a cluster (the cluster pass) its URL is `redis+cluster://seed,…`: one seed is enough.
  const withUser = (url: string, user: string) => {
    const [scheme, hosts] = url.split("://") as [string, string];
    return `${scheme}://${user}@${hosts.split(",")[0]}`;
  };
  // A closed port is the same plain redis:// URL in both passes: only the wrong password (on a
  // cluster, its seed) is run again in the cluster pass.
  test.each(
    each([
      ["a closed port", async () => `redis://user:secret@${await closedPort()}`],
      ["a wrong password", async () => withUser(redisUrl(), "user:secret")],
    ]).filter(([, why]) => onOneServer || why === "a wrong password"),
  )("%s, %s: one line, no stack trace, no password", async (cli, _why, url) => {
    const given = await url();
    const r = await runCli(cli, ["--redis-url", given, ...clis[cli]!]);
    expect(r.code).toBe(6);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    const masked = given.replace(":secret@", ":***@");
    expect(r.stderr).toStartWith(`${cli}: cannot connect to Redis at ${masked}: `);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(`${r.stdout}${r.stderr}`).not.toContain("secret");
  });

  // A closed port of a plain redis:// URL: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer)(
    "a URL from REDIS_URL that does not answer: the error says where it came from, once",
    async () => {
      const url = `redis://${await closedPort()}`;
      const fromEnv = await runCli("trigger", ["--url", EXAMPLE], { env: { REDIS_URL: url } });
      expect(fromEnv.code).toBe(6);
      const [line, ...rest] = fromEnv.stderr.trimEnd().split("\n");
      expect(rest).toEqual([]);
      expect(line).toStartWith(`trigger: cannot connect to Redis at ${url}: `);
      expect(line).toEndWith(" (from REDIS_URL; unset it or start that Redis)");
      expect(line!.split("from REDIS_URL")).toHaveLength(2);
      // Given with --redis-url, the same URL is the user's own choice: no word about REDIS_URL.
      const given = await runCli("trigger", ["--redis-url", url, "--url", EXAMPLE], {
        env: { REDIS_URL: url },
      });
      expect(given.code).toBe(6);
      expect(given.stderr).not.toContain("REDIS_URL");
      // A stack's child: the stack put its own Redis there, nothing for the user to unset.
      const child = await runCli("trigger", ["--url", EXAMPLE], {
        env: { REDIS_URL: url, COURIER_REDIS_URL_FROM: "stack" },
      });
      expect(child.code).toBe(6);
      expect(child.stderr).toStartWith(`trigger: cannot connect to Redis at ${url}: `);
      expect(child.stderr).not.toContain("REDIS_URL");
    },
  );

  // Typos in --redis-url are bad usage (exit 2), with one line (and the --help hint) that
  // names the problem and never the password. Refused before any connection: not in the
  // cluster pass.
  test.skipIf(!onOneServer).each(
    each([
      ["a password with an unencoded /", async () => `redis://user:se/cret@${await closedPort()}`],
      [
        "a database that is not a number",
        async () => `redis://user:secret@${await closedPort()}/abc`,
      ],
      ["one slash after the scheme", async () => `redis:/user:secret@${await closedPort()}`],
    ]),
  )("%s, %s: one line, no stack trace, no password", async (cli, _why, url) => {
    // result's through a real process, the others in this one (runUsage: no connection made).
    const run = cli === "result" ? runCli : runUsage;
    const r = await run(cli, ["--redis-url", await url(), ...clis[cli]!]);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/se\/?cret/);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^${cli}: (invalid Redis URL( "| \\(not shown)|the Redis URL is not a redis:// URL)`,
      ),
    );
    expect(r.code).toBe(2);
  });
});

describe("exits 3, 4 and 5: no worker running", () => {
  test("3 while queued, 5 when --wait runs out, 4 for an unknown id", async () => {
    const prefix = testPrefix();
    const id = await triggerOne(prefix, EXAMPLE);

    const queued = await runCli("result", ["--prefix", prefix, "--jobid", id]);
    expect(queued.code).toBe(3);
    expect(queued.stdout).toMatch(/^status:\s+queued$/m);
    // The id as a bare argument, as `dead show ID` takes it: the same answer.
    const bare = await runCli("result", ["--prefix", prefix, id]);
    expect(bare).toMatchObject({ code: 3, stdout: queued.stdout });
    expect(queued.stdout).toMatch(/^attempts:\s+0 of 3$/m);

    const started = Date.now();
    const waited = await runCli("result", ["--prefix", prefix, "--jobid", id, "--wait", "1"]);
    expect(waited.code).toBe(5);
    // A window is the point (--wait 1 waits its whole second before giving up), and only a
    // lower bound is checked: the CLI cannot see its deadline pass early, however busy the
    // machine, so this cannot fail from load.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(waited.stderr).toContain(`job ${id} is still queued after waiting 1 s`);

    const triggerWaited = await runCli("trigger", [
      "--prefix",
      prefix,
      "--url",
      EXAMPLE,
      "--wait=1",
    ]);
    expect(triggerWaited.code).toBe(5);
    expect(triggerWaited.stdout).toMatch(/^status:\s+queued$/m);
    expect(triggerWaited.stderr).toMatch(/^trigger: job \S+ is still queued after waiting 1 s$/m);

    // `result --wait ID`: --wait got the id as its value; it is taken as the id, no limit.
    const waitedId = await runCli("result", ["--prefix", prefix, "--wait", "no-such-job"]);
    expect(waitedId.code).toBe(4);
    expect(waitedId.stderr).toMatch(/^result: no job no-such-job in queue/);

    const unknown = await runCli("result", ["--prefix", prefix, "--jobid", "no-such-job"]);
    expect(unknown.code).toBe(4);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toMatch(
      new RegExp(
        `no job no-such-job in queue "default" \\(prefix ${prefix}\\): .*expired, or it is in another queue \\(--queue\\)`,
      ),
    );
  });
});

describe("exits 0 and 1: a worker running", () => {
  test("0 for a finished job; 1 for a 404, which fails at once with no retry", async () => {
    const prefix = testPrefix();
    const pagesSite = site();
    const worker = backgroundWorker(prefix);
    try {
      const trig = ["--prefix", prefix, "--json", "--wait", "20", "--url"];
      const ok = await runCli("trigger", [...trig, pagesSite.url("/ok")]);
      expect(ok.code).toBe(0);
      const missing = await runCli("trigger", [...trig, pagesSite.url("/missing")]);
      expect(missing.code).toBe(1);

      const okShown = await showJob(prefix, JSON.parse(ok.stdout).id);
      expect(okShown.code).toBe(0);
      expect(okShown.job).toMatchObject({ status: "finished", attempts: 1, result: { words: 3 } });

      const failed = await showJob(prefix, JSON.parse(missing.stdout).id);
      expect(failed.code).toBe(1);
      expect(failed.job).toMatchObject({ status: "failed", attempts: 1, result: null });
      expect(failed.job.error).toMatch(/\b404\b/);
      expect(pagesSite.hits("/missing")).toBe(1);
      const plain = await runCli("result", [
        "--prefix",
        prefix,
        "--jobid",
        failed.job.id as string,
      ]);
      expect(plain.code).toBe(1);
      expect(plain.stdout).toMatch(/^error:\s+HTTP 404/m);
    } finally {
      worker.proc.kill("SIGTERM");
      await worker.ended();
      pagesSite.stop();
    }
  });

  test("result --wait with no limit exits 0 once a worker started later finishes the job", async () => {
    const prefix = testPrefix();
    const pagesSite = site();
    try {
      const id = await triggerOne(prefix, pagesSite.url("/ok"));
      const waiter = spawnCli("result", ["--prefix", prefix, "--jobid", id, "--wait"]);
      await using redis = await rawRedis();
      // The waiter is blocked reading the events stream before any worker exists.
      await until(async () => {
        return /name=courier-waiter .*cmd=xread/.test(await clientList(redis));
      }, "result --wait to block on the events stream");
      expect(waiter.exitCode).toBeNull();

      const work = await runCli("worker", workerArgs(prefix, "--burst"));
      expect(work.code).toBe(0);
      const [code, stdout] = await Promise.all([waiter.exited, new Response(waiter.stdout).text()]);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^status:\s+finished$/m);
      expect(stdout).toMatch(/^\s+words:\s+3$/m);
    } finally {
      pagesSite.stop();
    }
  });
});

// --help, answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
describe.skipIf(!onOneServer)("--help", () => {
  const options: Record<string, string[]> = {
    result: ["jobid", "json", "wait"],
    trigger: ["url", "file", "json", "wait", "max-attempts", "retry-connect"],
    worker: [
      "concurrency",
      "burst",
      "name",
      "claim-idle-ms",
      "job-timeout-ms",
      "shutdown-grace-ms",
      "allow-private",
      "log-format",
    ],
  };

  test.each(Object.keys(options))("%s --help exits 0 and names every option", async (cli) => {
    const r = await runCli(cli, ["--help"]);
    expect(r.code).toBe(0);
    const text = r.stdout.replace(/\x1b\[[0-9;]*m/g, ""); // citty colours its usage
    // The options the command defines, and the ones documented here, must all be shown.
    const { command } = await import(`../bin/${cli}.ts`);
    const args: Record<string, { type?: string }> = await command.args;
    // Positional arguments (`result ID`) are shown by name in the usage line, not as --options.
    const defined = Object.keys(args).filter((k) => args[k]!.type !== "positional");
    const common = ["redis-url", "queue", "prefix"];
    for (const name of new Set([...options[cli]!, ...common, ...defined])) {
      expect(text).toMatch(new RegExp(`--${name}\\b`));
    }
    if (cli === "result") expect(text).toContain("USAGE result [OPTIONS] [ID]");
  });
});
