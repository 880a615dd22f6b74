// `trigger --file - --then TASK` / `--summary` through the real CLIs, on a few pages: the
// summary printed by --wait (text), a callback of the user's own that reads its payload and
// every outcome, a task no live worker has (a note, the callback still enqueued), a file
// whose every line is refused (no callback), and a batch too big for one callback.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_PARENTS } from "../lib/queue/depends.ts";
import { backgroundWorker, HTML, JOB_ID, pages } from "./fixtures/cli/harness.ts";
import { runCli, testPrefix } from "./helpers.ts";

// A task module for `worker --tasks`: a callback that returns its payload's tag and its parents.
const dir = mkdtempSync(join(tmpdir(), "courier-batch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TASKS = join(dir, "collect.js");
writeFileSync(
  TASKS,
  `export const collect = {
  name: "collect",
  async run(payload, ctx) {
    const parents = [];
    for await (const p of ctx.parents()) parents.push({ id: p.id, status: p.status, error: p.error });
    return { tag: payload.tag, parents };
  },
};
`,
);

/** Two pages of known words and one that is not there (404: fails for good, at once). */
function smallSite() {
  return pages((path) =>
    path === "/missing"
      ? new Response("gone", { status: 404 })
      : new Response(`<p>${path === "/a" ? "red red blue" : "red green"}</p>`, { headers: HTML }),
  );
}

describe("trigger --summary --wait, --then TASK", () => {
  test("--wait prints the summary; a page not counted exits 1", async () => {
    const prefix = testPrefix();
    const server = smallSite();
    const worker = backgroundWorker(prefix);
    try {
      await worker.logged("worker started"); // live: trigger has no note to add
      const input = ["/a", "/missing", "/b"].map((p) => server.url(p)).join("\n");
      const r = await runCli(
        "trigger",
        ["--prefix", prefix, "--file", "-", "--summary", "--wait", "60"],
        {
          stdin: input,
          timeoutMs: 70_000,
        },
      );
      expect(r.stderr).toMatch(
        /^trigger: callback \S+ \(wordcount-summary\) runs once all 3 jobs have ended\n$/,
      );
      const missing = new RegExp(
        `^  \\S+  failed: HTTP 404 Not Found from ${server.url("/missing")}$`,
      );
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines.slice(0, 4)).toEqual([
        "pages:      3 (2 counted, 1 failed)",
        "words:      5",
        "top words:  red (3), blue (1), green (1)",
        "not counted:",
      ]);
      expect(lines.slice(4)).toEqual([expect.stringMatching(missing)]);
      expect(r.code).toBe(1);
    } finally {
      worker.proc.kill("SIGKILL");
      await worker.ended();
      server.stop();
    }
  }, 90_000);

  test("--then TASK --then-payload --wait --json: the callback gets its payload and every outcome, in order", async () => {
    const prefix = testPrefix();
    const server = smallSite();
    const worker = backgroundWorker(prefix, "--tasks", TASKS);
    try {
      await worker.logged("worker started"); // live: trigger has no note to add
      const input = ["/a", "/missing", "/b"].map((p) => server.url(p)).join("\n");
      const args = ["--file", "-", "--then", "collect", "--then-payload", '{"tag": "x"}'];
      const r = await runCli("trigger", ["--prefix", prefix, ...args, "--wait", "60", "--json"], {
        stdin: input,
        timeoutMs: 70_000,
      });
      expect(r.stderr).toMatch(
        /^trigger: callback (\S+) \(collect\) runs once all 3 jobs have ended\n$/,
      );
      const callbackId = /callback (\S+)/.exec(r.stderr)![1];
      const job = JSON.parse(r.stdout);
      expect(job).toMatchObject({
        id: callbackId,
        task: "collect",
        status: "finished",
        attempts: 1,
      });
      // A page failed: the callback runs all the same (and its exit is its own: 0).
      expect(job.result.tag).toBe("x");
      expect(job.result.parents.map((p: { status: string }) => p.status)).toEqual([
        "finished",
        "failed",
        "finished",
      ]);
      expect(job.result.parents[1].error).toMatch(/^HTTP 404 Not Found from /);
      expect(r.code).toBe(0);
    } finally {
      worker.proc.kill("SIGKILL");
      await worker.ended();
      server.stop();
    }
  }, 90_000);

  test("every line refused: no job, no callback, exit 2", async () => {
    const prefix = testPrefix();
    const r = await runCli("trigger", ["--prefix", prefix, "--file", "-", "--summary"], {
      stdin: "ftp://x\nnot a url\n",
    });
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^trigger: line 1: .*\ntrigger: line 2: .*\ntrigger: no job was enqueued, so no callback either\n$/,
    );
    expect(r.code).toBe(2);
  });

  test("--then a task no live worker has: enqueued all the same, with a note", async () => {
    const prefix = testPrefix();
    const r = await runCli("trigger", ["--prefix", prefix, "--file", "-", "--then", "nosuch"], {
      stdin: "https://example.org/a\nhttps://example.org/b\n",
    });
    const ids = r.stdout.trim().split("\n");
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(JOB_ID);
    expect(r.stderr).toMatch(
      /^trigger: callback \S+ \(nosuch\) runs once all 2 jobs have ended\ntrigger: no live worker has task "nosuch" now: the callback waits for one \(a mistyped --then\?\)\n$/,
    );
    expect(r.code).toBe(0);
    const callbackId = /callback (\S+)/.exec(r.stderr)![1]!;
    const shown = await runCli("result", ["--prefix", prefix, callbackId, "--json"]);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      task: "nosuch",
      status: "waiting-for-parents",
    });
  });

  test("--summary --wait with no worker: says that no live worker has the batch's word counts", async () => {
    const prefix = testPrefix();
    // The callback's wait is a wait for its word counts first, which no worker runs: said, though
    // --summary's callback is built in; not the callback as well (every CLI worker has both).
    const args = ["--prefix", prefix, "--file", "-", "--summary", "--wait", "0", "--queue", "o"];
    const r = await runCli("trigger", args, { stdin: "https://example.org/a\n" });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /^trigger: callback \S+ \(wordcount-summary\) runs once the job has ended\ntrigger: no live worker has task "wordcount" now: the batch's job waits for one \(start one: worker --queue o\)\ntrigger: job \S+ is still waiting-for-parents after waiting 0 s\n$/,
    );
  });

  test(`a batch over ${MAX_PARENTS} jobs: trigger stops reading past the bound, no callback, said on stderr`, async () => {
    const prefix = testPrefix();
    const n = MAX_PARENTS + 2_000;
    const input = `${Array.from({ length: n }, (_, i) => `https://example.org/${i}`).join("\n")}\n`;
    const r = await runCli("trigger", ["--prefix", prefix, "--file", "-", "--summary"], {
      stdin: input,
      timeoutMs: 120_000,
    });
    // The batch that went past the bound is enqueued (and printed); no line after it is read.
    const printed = r.stdout.trim().split("\n").length;
    expect(printed).toBeGreaterThan(MAX_PARENTS);
    expect(printed).toBeLessThan(n);
    expect(r.stderr.trim().split("\n")).toEqual([
      `trigger: a batch holds at most ${MAX_PARENTS} jobs: stopped after line ${printed}, the ${printed} jobs enqueued run without a callback, later lines not read; split the file`,
      "Run with --help to see the options.",
    ]);
    expect(r.code).toBe(2);
  }, 150_000);
});
