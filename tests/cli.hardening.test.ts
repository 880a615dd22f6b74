// The CLIs against hostile text and user mistakes (issue 10, items 4, 6, 7, 12, 13): control
// characters from a page never reach the terminal raw, mistakes get one line and exit 2,
// secrets are never echoed, and `result --json --wait` says where the job stands on timeout.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shardKeys } from "../lib/engine/keys.ts";
import { findFreePort } from "../lib/stack/redis-server.ts";
import { HTML, pages, triggerOne, workerArgs } from "./fixtures/cli/harness.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import {
  onOneServer,
  openQueue,
  rawRedis,
  redisUrl,
  runCli,
  runProcess,
  servePages,
  spawnCli,
  testPrefix,
  testShards,
  waitForLine,
} from "./helpers.ts";

const STACK_FRAME = /^\s+at .+:\d+/m;
/** Any C0 but \n, DEL, C1, or a bidi control: what must never reach a terminal raw. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const EVIL_TITLE = "\x1b]0;pwned\x07\x1b[31mred\u202e";

/** A page whose status line holds C1 and ESC bytes: Bun.serve would not send one. */
function rawStatusServer() {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        const reason = Buffer.from("Gone \u009b31m \u0085x", "utf8");
        socket.write(
          Buffer.concat([
            Buffer.from("HTTP/1.1 404 "),
            reason,
            Buffer.from("\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
          ]),
        );
        socket.end();
      },
    },
  });
  return { url: `http://127.0.0.1:${server.port}/status`, stop: () => server.stop(true) };
}

describe("terminal escape injection", () => {
  test("a title and a status text with ESC, BEL, C1 and bidi reach no output raw", async () => {
    const prefix = testPrefix();
    const site = pages(
      () => new Response(`<title>${EVIL_TITLE}</title><p>three small words</p>`, { headers: HTML }),
    );
    const raw = rawStatusServer();
    try {
      const titled = await triggerOne(prefix, site.url("/t"));
      const failing = await triggerOne(prefix, raw.url, "--max-attempts", "1");
      const human = ["--prefix", prefix, "--allow-private", "--burst", "--log-format", "human"];
      const work = await runCli("worker", human);
      expect(work.code).toBe(0);
      expect(work.stdout).toContain("failed");
      expect(work.stdout).not.toMatch(RAW_CONTROL);

      const shown = await runCli("result", ["--prefix", prefix, "--jobid", titled]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain("title:");
      expect(shown.stdout).toContain("\\x1b]0;pwned\\x07\\x1b[31mred\\u202e");
      expect(shown.stdout).not.toMatch(RAW_CONTROL);
      // The page has no lang attribute: no empty `lang:` line.
      expect(shown.stdout).not.toMatch(/^\s*lang:\s*$/m);

      const failed = await runCli("result", ["--prefix", prefix, "--jobid", failing]);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/^error:\s+HTTP 404 /m);
      expect(failed.stdout).not.toMatch(RAW_CONTROL);

      for (const id of [titled, failing]) {
        const json = await runCli("result", ["--prefix", prefix, "--jobid", id, "--json"]);
        expect(json.stdout).not.toMatch(RAW_CONTROL);
        expect(JSON.parse(json.stdout).id).toBe(id);
      }
      expect(
        JSON.parse(
          (await runCli("result", ["--prefix", prefix, "--jobid", titled, "--json"])).stdout,
        ).result.title,
      ).toBe(EVIL_TITLE);

      for (const args of [["list"], ["show", failing], ["list", "--json"]]) {
        const dead = await runCli("dead", [...args, "--prefix", prefix]);
        expect(dead.code).toBe(0);
        expect(dead.stdout).toContain(failing);
        expect(dead.stdout).not.toMatch(RAW_CONTROL);
      }
    } finally {
      site.stop();
      raw.stop();
    }
  });
});

describe("result --wait that times out", () => {
  test.each([[["--json"]], [[]]])("%j: prints the job as it stands, exit 5", async (more) => {
    const prefix = testPrefix();
    const id = await triggerOne(prefix, "https://example.org/");
    const r = await runCli("result", ["--prefix", prefix, "--jobid", id, "--wait", "0.2", ...more]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`job ${id} is still queued`);
    if (more.length > 0) expect(JSON.parse(r.stdout)).toMatchObject({ id, status: "queued" });
    else expect(r.stdout).toMatch(/^status:\s+queued$/m);
  });
});

const COMMANDS: [string, string[]][] = [
  ["result", ["--jobid", "x"]],
  ["info", []],
  ["dead", ["list"]],
  ["worker", []],
  ["dashboard", ["--port", "0"]],
];

/**
 * One line (plus the --help hint for a mistake in the arguments: not for a port in use or a
 * name taken, which --help does not fix), no stack trace, nothing on stdout.
 */
function expectUsage(
  r: { code: number; stdout: string; stderr: string },
  cli: string,
  message: RegExp,
  hinted = true,
) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toMatch(STACK_FRAME);
  const [first, ...rest] = r.stderr.trimEnd().split("\n");
  expect(first).toStartWith(`${cli}: `);
  expect(first).toMatch(message);
  expect(rest).toEqual(hinted ? ["Run with --help to see the options."] : []);
}

// Usage errors, refused before Redis is reached: nothing a cluster changes (not in the cluster pass).
describe.skipIf(!onOneServer)("mistakes in every command: one line, exit 2", () => {
  // result's through a real process, the others' in this one (runUsage: the same runCli, with
  // no process of its own for a mistake refused before Redis).
  const runFor = (cli: string) => (cli === "result" ? runCli : runUsage);

  test.each(COMMANDS)("%s: a string option with no value is refused", async (cli, args) => {
    const run = runFor(cli);
    expectUsage(await run(cli, [...args, "--queue"]), cli, /--queue needs a value/);
    expectUsage(
      await run(cli, ["--prefix", "--queue", "q", ...args]),
      cli,
      /--prefix needs a value/,
    );
  });

  test.each(COMMANDS)("%s: an unknown option gets a suggestion", async (cli, args) => {
    expectUsage(
      await runFor(cli)(cli, [...args, "--prefx", "p"]),
      cli,
      /unknown option --prefx \(did you mean --prefix\?\)/,
    );
  });

  test.each(COMMANDS)(
    "%s: a malformed Redis URL, never echoed when it is no URL",
    async (cli, args) => {
      const run = runFor(cli);
      const port = await findFreePort();
      const bad = await run(cli, [
        ...args,
        "--redis-url",
        `redis://user:secret@127.0.0.1:${port}/abc`,
      ]);
      expectUsage(bad, cli, /invalid Redis URL "redis:\/\/user:\*\*\*@127\.0\.0\.1:\d+\/abc"/);
      const bare = await run(cli, [...args, "--redis-url", "hunter2-secret"]);
      expectUsage(bare, cli, /not a redis:\/\/ URL/);
      expect(bare.stderr).not.toContain("hunter2");
      const scheme = await run(cli, [...args], { env: { REDIS_URL: "http://u:hunter2@x" } });
      expectUsage(scheme, cli, /scheme must be redis:\/\/ or rediss:\/\//);
      expect(scheme.stderr).not.toContain("hunter2");
    },
  );

  test("a password in the user field is masked", async () => {
    const port = await findFreePort();
    const r = await runCli("result", [
      "--jobid",
      "x",
      "--redis-url",
      `redis://hunter2@127.0.0.1:${port}`,
    ]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`redis://***@127.0.0.1:${port}`);
    expect(r.stderr).not.toContain("hunter2");
  });

  // CLIENT SETNAME takes printable ASCII only: a name beyond it would be refused by Redis.
  test.each([["a b"], ["tab\there"], ["esc\x1b[31m"], ["café"], [""]])(
    "worker --name %j",
    async (name) => {
      const r = await runCli("worker", ["--prefix", testPrefix(), "--name", name]);
      if (name === "") expectUsage(r, "worker", /--name needs a value/);
      else
        expectUsage(r, "worker", /--name must be 1-200 printable ASCII characters without spaces/);
      expect(r.stderr).not.toMatch(RAW_CONTROL);
    },
  );

  test("dashboard --host 256.1.1.1", async () => {
    const r = await runCli("dashboard", [
      "--prefix",
      testPrefix(),
      "--host",
      "256.1.1.1",
      "--port",
      "0",
    ]);
    expectUsage(r, "dashboard", /host 256\.1\.1\.1 .*is not an IPv4 address/);
  });

  test.each([
    ["worker", ["--health-port"], "give another --health-port"],
    ["dashboard", ["--port"], "give another --port or COURIER_DASHBOARD_PORT"],
  ])("%s: a port in use, and how to take another", async (cli, flag, hint) => {
    const busy = servePages(() => new Response("taken"));
    try {
      const args = cli === "worker" ? ["--health-host", "127.0.0.1"] : [];
      const r = await runCli(cli, ["--prefix", testPrefix(), ...args, ...flag, String(busy.port)]);
      // One wording for both (lib/worker/health.ts listenError), exit 2.
      expectUsage(
        r,
        cli,
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy.port}: address in use`),
        false,
      );
      expect(r.stderr.trimEnd()).toEndWith(`; ${hint}`);
    } finally {
      busy.stop(true);
    }
  });

  // A host that does not resolve failed in getaddrinfo: a stack trace and exit 70 before.
  test.each([
    ["worker", ["--health-port", "6597", "--health-host", "a b"], "a b:6597"],
    [
      "worker",
      ["--health-port", "6597", "--health-host", "localhost:80"],
      "\\[localhost:80\\]:6597",
    ],
    ["dashboard", ["--host", "a b", "--port", "0"], "a b:0"],
  ])("%s %j: no such address", async (cli, args, where) => {
    const r = await runCli(cli, ["--prefix", testPrefix(), ...args]);
    expectUsage(r, cli, new RegExp(`cannot listen on ${where}: no such address$`));
  });

  // A one-character token guarded the actions before: anyone could guess it.
  test.each([
    [["--token", "tok3n"], {}],
    [[], { COURIER_DASHBOARD_TOKEN: "tok3n-fifteen-c" }],
  ])("dashboard with a short token %j %j", async (args, env) => {
    const r = await runCli("dashboard", ["--prefix", testPrefix(), "--port", "0", ...args], {
      env,
    });
    expectUsage(r, "dashboard", /token .*must be at least 16 characters, got (5|15):/);
    expect(r.stderr).not.toContain("tok3n");
  });
});

describe("a second worker with the name of a live one", () => {
  test("is refused naming the live one; accepted once it has stopped", async () => {
    const prefix = testPrefix();
    const first = spawnCli("worker", workerArgs(prefix, "--name", "twin"));
    await waitForLine(first.stdout, /"worker started"/);
    const second = await runCli("worker", workerArgs(prefix, "--name", "twin", "--burst"));
    expectUsage(
      second,
      "worker",
      new RegExp(`a worker named "twin" is already running \\(host .+, pid ${first.pid}`),
      false,
    );
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    const third = await runCli("worker", workerArgs(prefix, "--name", "twin", "--burst"));
    expect(third.code).toBe(0);
  });

  test("a worker killed on this host does not hold its name: taken over at once", async () => {
    const prefix = testPrefix();
    const killed = spawnCli("worker", workerArgs(prefix, "--name", "phoenix"));
    await waitForLine(killed.stdout, /"worker started"/);
    killed.kill("SIGKILL");
    await killed.exited;
    await using redis = await rawRedis();
    // Its record in its first shard (it has one in each).
    const key = shardKeys(prefix, "default", testShards() ?? 1)[0]!.worker("phoenix");
    // Its record is still there (it expires with its heartbeats: a record of a worker on
    // another host frees itself after that long).
    expect(Number(await redis.sendCommand(["PTTL", key]))).toBeGreaterThan(0);
    const again = await runCli("worker", workerArgs(prefix, "--name", "phoenix", "--burst"));
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
  });
});

describe("help and pipes", () => {
  // Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer).each(["result", "info", "dead", "worker", "dashboard"])(
    "%s --help into a pipe has no colour",
    async (cli) => {
      const r = await runCli(cli, ["--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("USAGE");
      expect(r.stdout).not.toContain("\x1b");
    },
  );

  // Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer).each([
    ["stack", []],
    ["trigger", []],
    ["queue", ["pause"]],
  ] as [string, string[]][])("%s --help pads no line with trailing spaces", async (cli, sub) => {
    // citty pads every option's line to the longest one's width (hundreds of columns): a
    // terminal of 80 wraps the spaces into rows of nothing between the options.
    const r = await runCli(cli, [...sub, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("OPTIONS");
    expect(r.stdout.split("\n").filter((line) => / $/.test(line))).toEqual([]);
  });

  // Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer)("on a terminal, colour unless NO_COLOR is set", async () => {
    // `script` gives the command a pseudo-terminal for stdout.
    const onTerminal = (env: Record<string, string>) =>
      runProcess(["script", "-qfc", `"${process.execPath}" bin/result.ts --help`, "/dev/null"], {
        // citty itself turns colour off under CI, TEST or TERM=dumb: not what is tested here.
        env: { ...process.env, CI: "", TEST: "", TERM: "xterm", NO_COLOR: "", ...env },
      });
    const coloured = await onTerminal({});
    expect(coloured.stdout).toContain("USAGE");
    expect(coloured.stdout).toContain("\x1b[");
    const plain = await onTerminal({ NO_COLOR: "true" });
    expect(plain.stdout).toContain("USAGE");
    expect(plain.stdout).not.toContain("\x1b");
  });

  test("info --watch | head -1 exits 0 quietly once head has gone", async () => {
    const script = `set -o pipefail; "${process.execPath}" bin/info.ts --prefix ${testPrefix()} --watch --interval 1 | head -1`;
    const r = await runProcess(["bash", "-c", script], {
      env: { ...process.env, REDIS_URL: redisUrl() },
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^20\d\d-/);
  });
});

// Any other command whose reader goes away stops there, which may be part-way: `cancel - | head
// -1` of 20,000 ids canceled the first 1,000 and exited 0, saying nothing (R-192). It says so on
// stderr and exits 141, as `trigger` does.
test("cancel - with its standard output closed part-way: says it stopped, exit 141", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const jobs = await q.enqueueMany(
    Array.from({ length: 20_000 }, () => ({ task: "t", payload: 1 })),
  );
  const ids = jobs.map((j) => j.id).join("\n");
  const proc = spawnCli("cancel", ["--prefix", prefix, "-"], { stdin: `${ids}\n` });
  const reader = proc.stdout.getReader();
  await reader.read(); // the first answers, then the reader goes away
  await reader.cancel();
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  expect(err).toBe("cancel: standard output closed; stopped there\n");
  expect(code).toBe(141);
});

// Standard error closed (`2>&1 >ids.txt | head -1` once head has gone): Bun ended the process
// with 1, a failed job's code, whatever the command's own (cancel of an unknown id exited 1, not
// 4; trigger --file with a bad line 1, not 2). The reader is gone before the command starts
// (its process substitution waited for), so its first line to stderr meets a closed pipe.
describe("standard error closed: the exit code stays the command's", () => {
  const withClosedStderr = (args: string[]) =>
    runProcess(
      ["bash", "-c", 'exec 3> >(exec 0<&-); wait $!; "$0" "$@" 2>&3', process.execPath, ...args],
      { env: { ...process.env, REDIS_URL: redisUrl() } },
    );

  test("cancel of an unknown id beside a queued one: exit 4, the queued one canceled", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const id = await q.enqueue("t", 1);
    const r = await withClosedStderr(["bin/cancel.ts", "--prefix", prefix, "unknown-1", id]);
    expect(r.stdout).toBe(`${id}: canceled (was queued)\n`);
    expect(r.code).toBe(4);
  });

  test("trigger --file with a bad line: exit 2, the good line enqueued", async () => {
    const prefix = testPrefix();
    const dir = mkdtempSync(join(tmpdir(), "courier-stderr-"));
    try {
      const file = join(dir, "urls.txt");
      writeFileSync(file, "not a url\nhttps://example.org/\n");
      const r = await withClosedStderr(["bin/trigger.ts", "--prefix", prefix, "--file", file]);
      expect(r.stdout.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Standard input that is a directory (`cancel - < somedir`): its first read fails with EISDIR,
// which was shown raw and named "-" (`cannot read -: Error: EISDIR: illegal operation on a
// directory, fstat`); a file argument that is a directory already said `it is a directory`.
describe("standard input a directory: one line saying so, exit 2", () => {
  test.each([
    ["cancel", ["-"]],
    ["trigger", ["--file", "-"]],
    ["trigger", ["--task", "t", "--payload-file", "-"]],
    ["dead", ["requeue", "-"]],
  ])("%s %p", async (name, args) => {
    const dir = mkdtempSync(join(tmpdir(), "courier-stdin-dir-"));
    try {
      const r = await runProcess(
        ["bash", "-c", '"$0" "$@" < "$DIR"', process.execPath, `bin/${name}.ts`, ...args],
        { env: { ...process.env, REDIS_URL: redisUrl(), DIR: dir } },
      );
      expect(r.stderr.split("\n")[0]).toBe(
        `${name}: cannot read standard input: it is a directory`,
      );
      expect(r.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("info says what each count counts", () => {
  test("jobs finished and failed for good, attempts retried; per worker too", async () => {
    const prefix = testPrefix();
    const site = pages(() => new Response("<p>one two</p>", { headers: HTML }));
    try {
      await triggerOne(prefix, site.url("/a"));
      const first = spawnCli("worker", workerArgs(prefix, "--name", "counter"));
      await waitForLine(first.stdout, /"finished"/);
      const r = await runCli("info", ["--prefix", prefix]);
      first.kill("SIGTERM");
      await first.exited;
      expect(r.stdout).toMatch(/^ {2}finished +1 job in the last minute, 1 in the last hour$/m);
      expect(r.stdout).toMatch(
        /^ {2}failed +0 jobs in the last minute, 0 in the last hour \(for good: dead-lettered\)$/m,
      );
      expect(r.stdout).toMatch(/^ {2}retried +0 attempts in the last minute, .*will run again\)$/m);
      expect(r.stdout).toMatch(/FINISHED JOBS +FAILED ATTEMPTS/);
    } finally {
      site.stop();
    }
  });
});
