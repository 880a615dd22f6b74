// `bin/queue.ts jobs NAME --state S` end to end: each state read where it lives, pages
// followed by their cursor until the last (every job once, on every shard), newest or oldest
// first; and the mistakes that must fail with one line and the documented exit code.
import { describe, expect, test } from "bun:test";
import { startDashboard } from "../lib/dashboard/server.ts";
import { backgroundWorker, gate, HTML, pages } from "./fixtures/cli/harness.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { onOneServer, openQueue, redisUrl, runCli, testPrefix, until } from "./helpers.ts";

const queueCli = (prefix: string, ...args: string[]) =>
  runCli("queue", [...args, "--prefix", prefix]);

interface Row {
  id: string;
  task: string;
  at: string | null;
  attempt: number | null;
  worker?: string;
}

/** Every page of `jobs default --state S --limit N`, following `next`: the rows in order. */
async function allPages(prefix: string, state: string, limit: number, ...more: string[]) {
  const rows: Row[] = [];
  let cursor: string | null = null;
  let pagesRead = 0;
  do {
    const args = ["jobs", "default", "--state", state, "--limit", String(limit), "--json"];
    const r = await queueCli(prefix, ...args, ...more, ...(cursor ? ["--cursor", cursor] : []));
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const page = JSON.parse(r.stdout) as { jobs: Row[]; next: string | null };
    expect(page.jobs.length).toBeLessThanOrEqual(limit);
    rows.push(...page.jobs);
    cursor = page.next;
    pagesRead++;
  } while (cursor !== null && pagesRead < 50);
  return { rows, pagesRead };
}

const ids = (rows: Row[]) => rows.map((r) => r.id);

/** A cursor of the form `jobs` prints, for the waiting list, holding `p` as its positions. */
const crafted = (p: string[]) =>
  Buffer.from(JSON.stringify({ s: "waiting", o: false, p })).toString("base64url");

describe("bin/queue.ts jobs", () => {
  test("waiting and delayed: pages by cursor, every job once, newest or oldest first", async () => {
    const prefix = testPrefix();
    const urls = Array.from({ length: 7 }, (_, i) => `http://127.0.0.1:9/${i}`);
    const trig = await runCli("trigger", ["--prefix", prefix, "--file", "-"], {
      stdin: `${urls.join("\n")}\n`,
    });
    expect(trig.code).toBe(0);
    const enqueued = trig.stdout.trim().split("\n");

    const newest = await allPages(prefix, "waiting", 3);
    expect(newest.pagesRead).toBe(3);
    expect([...ids(newest.rows)].sort()).toEqual([...enqueued].sort());
    expect(newest.rows.every((r) => r.task === "wordcount" && r.attempt === 1)).toBe(true);
    const times = newest.rows.map((r) => Date.parse(r.at!));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const oldest = await allPages(prefix, "waiting", 2, "--oldest");
    expect(ids(oldest.rows)).toEqual([...ids(newest.rows)].reverse());

    const text = await queueCli(prefix, "jobs", "default", "--state", "waiting", "--limit", "2");
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID +TASK +ENQUEUED +ATTEMPT$/);
    expect(lines[1]).toMatch(/^\S+ +wordcount +\d{4}-\d\d-\d\dT[\d:.]+Z +1$/);
    expect(lines[3]).toMatch(/^… more: --cursor \S+ for the next page$/);

    await using q = await openQueue({ prefix });
    const due = [5, 1, 3, 2, 4].map((h) => h * 3_600_000);
    const later: string[] = [];
    for (const delayMs of due)
      later.push(await q.enqueue("wordcount", { url: urls[0] }, { delayMs }));
    const byDue = later.map((id, i) => [id, due[i]!] as const).sort((a, b) => a[1] - b[1]);
    const soonest = await allPages(prefix, "delayed", 2, "--oldest");
    expect(ids(soonest.rows)).toEqual(byDue.map(([id]) => id));
    expect(soonest.rows[0]).toMatchObject({ task: "wordcount", attempt: 1 });
    const latest = await allPages(prefix, "delayed", 4);
    expect(ids(latest.rows)).toEqual(byDue.map(([id]) => id).reverse());
  });

  test("running, finished, failed, dead and canceled, over pages", async () => {
    const prefix = testPrefix();
    const held = gate();
    const site = pages(async (path) => {
      if (path.startsWith("/gone/")) return new Response("gone", { status: 404 });
      if (path.startsWith("/held/")) await held.wait;
      return new Response("<p>one two</p>", { headers: HTML });
    });
    const trigger = async (paths: string[]) => {
      const r = await runCli("trigger", ["--prefix", prefix, "--file", "-"], {
        stdin: `${paths.map((p) => site.url(p)).join("\n")}\n`,
      });
      expect(r.code).toBe(0);
      return r.stdout.trim().split("\n");
    };
    const ok = await trigger(Array.from({ length: 5 }, (_, i) => `/ok/${i}`));
    const gone = await trigger(Array.from({ length: 3 }, (_, i) => `/gone/${i}`));
    const burst = await runCli("worker", [
      ...["--prefix", prefix, "--allow-private", "--burst", "--log-format", "json"],
    ]);
    expect(burst.code).toBe(0);

    const finished = await allPages(prefix, "finished", 2);
    expect([...ids(finished.rows)].sort()).toEqual([...ok].sort());
    expect(finished.rows.every((r) => r.task === "wordcount" && r.attempt === 1)).toBe(true);
    const failed = await allPages(prefix, "failed", 2, "--oldest");
    expect([...ids(failed.rows)].sort()).toEqual([...gone].sort());
    const dead = await allPages(prefix, "dead", 1);
    expect(dead.pagesRead).toBe(3);
    expect([...ids(dead.rows)].sort()).toEqual([...gone].sort());
    expect(dead.rows.every((r) => r.task === "wordcount" && r.attempt === 1)).toBe(true);
    const canceled = await queueCli(prefix, "jobs", "default", "--state", "canceled");
    expect(canceled).toMatchObject({ code: 0, stdout: "no canceled jobs\n" });
    // Canceled while queued: listed with its task and its attempts, 0 (it never ran).
    const [late] = await trigger(["/ok/late"]);
    expect((await runCli("cancel", ["--prefix", prefix, late!])).code).toBe(0);
    const gone2 = await allPages(prefix, "canceled", 5);
    expect(gone2.rows.map((r) => [r.id, r.task, r.attempt])).toEqual([[late!, "wordcount", 0]]);

    const worker = backgroundWorker(prefix, "--concurrency", "3", "--name", "w-list");
    try {
      const running = await trigger(["/held/1", "/held/2", "/held/3"]);
      await until(() => [1, 2, 3].every((n) => site.hits(`/held/${n}`) === 1), "3 jobs to start");
      const listed = await allPages(prefix, "running", 2);
      expect([...ids(listed.rows)].sort()).toEqual([...running].sort());
      expect(listed.rows.every((r) => r.worker === "w-list" && r.attempt === 1)).toBe(true);
      const text = await queueCli(prefix, "jobs", "default", "--state", "running");
      expect(text.stdout.split("\n")[0]).toMatch(/^ID +TASK +ENQUEUED +ATTEMPT +WORKER$/);
    } finally {
      held.open();
      worker.proc.kill("SIGTERM");
      expect((await worker.ended()).code).toBe(0);
      site.stop();
    }
  });

  test("bad input: one line, exit 2; no such queue: exit 4", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await q.enqueue("wordcount", { url: "http://127.0.0.1:9/" });
    const waitingCursor = JSON.parse(
      (await queueCli(prefix, "jobs", "default", "--state", "waiting", "--json", "--limit", "1"))
        .stdout,
    ).next;
    const cases: [string[], number, string][] = [
      [
        ["jobs", "default", "--state", "queued"],
        2,
        '--state must be one of waiting, running, delayed, finished, failed, dead, canceled, waiting-for-parents, got "queued"',
      ],
      [
        ["jobs", "default"],
        2,
        "give --state: waiting, running, delayed, finished, failed, dead, canceled",
      ],
      [
        ["jobs", "default", "--state", "waiting", "--limit", "ten"],
        2,
        '--limit must be a whole number from 1 to 500, got "ten"',
      ],
      [
        ["jobs", "default", "--state", "waiting", "--limit", "0"],
        2,
        '--limit must be a whole number from 1 to 500, got "0"',
      ],
      [
        ["jobs", "default", "--state", "waiting", "--cursor", "garbage!"],
        2,
        "--cursor must be the `next` a previous page of this listing printed (same state and order)",
      ],
      [
        ["jobs", "default", "--state", "dead", "--cursor", "eyJzIjoid2FpdGluZyJ9"],
        2,
        "--cursor must be the `next` a previous page of this listing printed (same state and order)",
      ],
      [
        // A cursor of the right shape whose position is no entry id: refused before Redis.
        ["jobs", "default", "--state", "waiting", "--cursor", crafted(["abc"])],
        2,
        "--cursor must be the `next`",
      ],
      [
        ["jobs", "default", "--state", "waiting", "--cursor", crafted(["99999999999999999999-1"])],
        2,
        "--cursor must be the `next`",
      ],
      [["jobs", "nosuch", "--state", "waiting"], 4, "no queue nosuch under prefix"],
      [["pause", "nosuch"], 4, "no queue nosuch under prefix"],
      [["resume", "nosuch"], 4, "no queue nosuch under prefix"],
      [["empty", "nosuch", "--all"], 4, "no queue nosuch under prefix"],
      [["pause"], 2, "queue: "],
      [["pause", "a", "b"], 2, "give one queue name"],
      [["pause", "bad name!"], 2, '"bad name!" is no queue name (1-100 letters, digits or _.:-)'],
      [["pause", "default", "--queue", "x"], 2, "unknown option --queue"],
      [
        ["stop", "default"],
        2,
        'unknown command "stop": use pause, resume, limit, empty, jobs, events',
      ],
    ];
    if (waitingCursor) {
      // A cursor of the waiting list given to the oldest-first one: another listing.
      cases.push([
        ["jobs", "default", "--state", "waiting", "--oldest", "--cursor", waitingCursor],
        2,
        "--cursor must be the `next`",
      ]);
    }
    // In the cluster pass only the cases that reach Redis (exit 4; a --cursor, whose positions
    // are one per shard): the others are refused before it, as on one server.
    const reaching = ([args, code]: (typeof cases)[number]) =>
      code === 4 || args.includes("--cursor");
    // Those refused before Redis run in this process (runUsage: the same runCli), but the first.
    const before = (c: (typeof cases)[number]) => !reaching(c) && c !== cases[0];
    for (const c of onOneServer ? cases : cases.filter(reaching)) {
      const [args, code, line] = c;
      const r = before(c)
        ? await runUsage("queue", [...args, "--prefix", prefix])
        : await queueCli(prefix, ...args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(line);
      expect(r.stderr).not.toContain("    at "); // no stack trace
      expect(r.stderr.split("\n")[0]).toStartWith("queue: ");
    }
  });

  test("a cursor at the edge of the id range (nothing lies beyond it): exit 2, and 400 from /api/jobs", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await q.enqueue("wordcount", { url: "http://127.0.0.1:9/" });
    const edge = (state: string, oldest: boolean, p: string) =>
      Buffer.from(JSON.stringify({ s: state, o: oldest, p: Array(q.shards).fill(p) })).toString(
        "base64url",
      );
    const MAX = "18446744073709551615-18446744073709551615";
    const cases: [string, boolean, string][] = [
      ["waiting", false, "0-0"],
      ["waiting", true, MAX],
      ["running", false, "0-0"],
      ["running", true, MAX],
      ["dead", false, "0-0"],
      ["dead", true, MAX],
    ];
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
    try {
      for (const [state, oldest, p] of cases) {
        const cursor = edge(state, oldest, p);
        const args = ["jobs", "default", "--state", state, "--cursor", cursor];
        const r = await queueCli(prefix, ...args, ...(oldest ? ["--oldest"] : []));
        expect({ state, oldest, code: r.code }).toEqual({ state, oldest, code: 2 });
        expect(r.stderr).toStartWith("queue: --cursor must be the `next`");
        const query = `state=${state}&cursor=${cursor}${oldest ? "&oldest=1" : ""}`;
        const res = await fetch(`${d.url}/api/jobs?${query}`);
        expect({ state, oldest, status: res.status }).toEqual({ state, oldest, status: 400 });
      }
    } finally {
      await d.stop();
    }
  });
});
