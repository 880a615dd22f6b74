// RQ, the system Courier grew from: one `rq worker --burst` process running one job at a time
// (its default forking worker), with Debian's /usr/bin/python3 and /usr/bin/rq (another
// python3 may come first on the PATH). Used by the I/O-bound workload only; skipped, with the
// reason, where Debian's python3-rq and python3-requests are not installed.
import { existsSync } from "node:fs";
import { BENCH_DIR, urlEnv } from "../_proc.ts";
import type { ContenderImpl } from "./types.ts";

const PYTHON = "/usr/bin/python3";
const RQ = "/usr/bin/rq";
const TASKS_DIR = `${BENCH_DIR}/contenders`;
const INSTALL =
  'apt-get install -y python3-rq python3-requests, or run "bash scripts/setup.sh --with-bench"';

/** Why RQ cannot run here (one line), or undefined when it can. */
export function rqMissing(python = PYTHON, rqBin = RQ): string | undefined {
  if (!existsSync(python)) return `${python} is not installed (${INSTALL})`;
  const probe = Bun.spawnSync([python, "-c", "import redis, requests, rq"], { stderr: "pipe" });
  if (probe.exitCode !== 0) {
    const error = probe.stderr.toString().trim().split("\n").pop();
    return `${python} cannot import rq and requests: ${error} (${INSTALL})`;
  }
  if (!existsSync(rqBin)) return `${rqBin} is not installed (${INSTALL})`;
  return undefined;
}

export const rq: ContenderImpl = {
  name: "rq",
  missing: () => rqMissing(),
  finishedCommand: (queue) => ["ZCARD", `rq:finished:${queue}`],
  async producer(url, queue) {
    return {
      enqueueOne: () => Promise.reject(new Error("rq: single enqueue is not benchmarked")),
      async enqueueBulk(payloads) {
        const urls = payloads.map((p) => (p as { url: string }).url).join("\n");
        const proc = Bun.spawn({
          cmd: [PYTHON, `${TASKS_DIR}/rq_tasks.py`, queue],
          cwd: TASKS_DIR,
          env: { ...process.env, ...urlEnv(url) },
          stdin: new Blob([urls]),
          stdout: "ignore",
          stderr: "pipe",
        });
        const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
        if (code !== 0) throw new Error(`rq enqueue failed (exit ${code}): ${err}`);
      },
      close: async () => {},
    };
  },
  workerCommand: (spec) => ({
    // rq's --url is read from RQ_REDIS_URL when not given.
    cmd: [RQ, "worker", "--burst", "--path", TASKS_DIR, spec.queue],
    env: urlEnv(spec.url, "RQ_REDIS_URL"),
    ready: /Listening on/,
    needsGo: false,
  }),
};
