// rediss:// against a real redis-server that speaks only TLS, with certificates made by openssl
// for this run. The CA is given through REDIS_TLS_CA (library and CLI alike). A client that
// does not trust the server's CA fails with one line naming the URL (password masked) and what
// to set, exit 6 from the CLI, a ConnectError from the library.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { ConnectError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { Worker } from "../lib/worker/worker.ts";
import { HTML, JOB_ID, logEvents, pages, workerArgs } from "./fixtures/cli/harness.ts";
import { startTlsRedis, TLS_REDIS_PASSWORD, type TlsRedis } from "./fixtures/redis-tls.ts";
import { makeCerts, opensslMissing, type TestCerts } from "./fixtures/tls-certs.ts";
import { runCli, testPrefix } from "./helpers.ts";

const skip = opensslMissing();
if (skip) console.log(`skipping rediss:// tests: ${skip}`);

let certs: TestCerts;
let redis: TlsRedis;
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const masked = () => redis.url.replace(TLS_REDIS_PASSWORD, "***");

beforeAll(async () => {
  if (skip) return;
  certs = makeCerts(["DNS:localhost", "IP:127.0.0.1"]);
  redis = await startTlsRedis(certs);
});

afterAll(async () => {
  await redis?.stop();
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

/** Runs `fn` with REDIS_TLS_CA set to `ca` (or unset), as the library reads it at connect. */
async function withCa<T>(ca: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.REDIS_TLS_CA;
  if (ca === undefined) delete process.env.REDIS_TLS_CA;
  else process.env.REDIS_TLS_CA = ca;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.REDIS_TLS_CA;
    else process.env.REDIS_TLS_CA = before;
  }
}

const double = defineTask({
  name: "double",
  run: async (payload: { n: number }) => ({ n: payload.n * 2 }),
});

describe.skipIf(skip !== null)("rediss://", () => {
  test("the library enqueues, a worker runs the job and the result is read, over TLS", async () => {
    const prefix = testPrefix();
    const config = { redisUrl: redis.url, prefix, queue: "tls" };
    await withCa(certs.ca, async () => {
      const queue = await Queue.connect(config);
      const worker = await Worker.start({ ...config, tasks: [double], blockMs: 100 }).catch(
        async (err: unknown) => {
          await queue.close();
          throw err;
        },
      );
      try {
        const [job] = await queue.enqueueMany([{ task: double, payload: { n: 21 } }]);
        const id = job?.id ?? "";
        await queue.waitForJobs([id], { timeoutMs: 10_000 });
        const [record] = await queue.getJobs([id]);
        expect(record?.status).toBe("finished");
        expect(record?.result).toEqual({ n: 42 });
      } finally {
        await worker.stop(0);
        await queue.close();
      }
    });
  });

  test("trigger, worker and result over TLS", async () => {
    const prefix = testPrefix();
    const site = pages(() => new Response("<p>three words here</p>", { headers: HTML }));
    const env = { REDIS_URL: redis.url, REDIS_TLS_CA: certs.ca };
    try {
      await triggerWorkResult(prefix, site.url("/p"), env);
    } finally {
      site.stop();
    }
  });

  async function triggerWorkResult(prefix: string, url: string, env: Record<string, string>) {
    const trig = await runCli("trigger", ["--prefix", prefix, "--url", url], { env });
    expect(trig.stderr).toBe("");
    const id = trig.stdout.trim();
    expect(id).toMatch(JOB_ID);
    const work = await runCli("worker", workerArgs(prefix, "--burst"), { env });
    expect(work.code).toBe(0);
    expect(logEvents(work.stdout).filter((e) => e.event === "finished")).toHaveLength(1);
    const shown = await runCli("result", ["--prefix", prefix, "--jobid", id, "--json"], { env });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).result.words).toBe(3);
  }

  test("the wrong CA: the CLI exits 6 with one line, password masked", async () => {
    const env = { REDIS_URL: redis.url, REDIS_TLS_CA: certs.wrongCa };
    const shown = await runCli("result", ["--jobid", "0197a0b2-0000-7000-8000-000000000000"], {
      env,
    });
    expect(shown.code).toBe(6);
    expect(shown.stdout).toBe("");
    // One line: what failed and what to check; the TLS library's own wording may vary.
    expect(shown.stderr).toMatch(
      new RegExp(
        `^result: cannot connect to Redis at ${literal(masked())}: .*certificate.* ` +
          `\\(REDIS_TLS_CA is ${literal(certs.wrongCa)}: is it the CA that signed the server's certificate\\?\\)\n$`,
      ),
    );
    expect(shown.stderr).not.toContain(TLS_REDIS_PASSWORD);
  });

  test("no CA given: the library throws a ConnectError saying what to set", async () => {
    const err = await withCa(undefined, () => Queue.connect({ redisUrl: redis.url })).then(
      (q) => {
        void q.close();
        return new Error("connected without trusting the CA");
      },
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.message).toMatch(
      new RegExp(
        `^cannot connect to Redis at ${literal(masked())}: .*certificate.* ` +
          "\\(set REDIS_TLS_CA to the file of the CA that signed the server's certificate\\)$",
      ),
    );
  });

  test("a CA file that cannot be read is bad usage: exit 2, one line", async () => {
    const missing = `${certs.dir}/nowhere.pem`;
    const env = { REDIS_URL: redis.url, REDIS_TLS_CA: missing };
    const shown = await runCli("info", [], { env });
    expect(shown.code).toBe(2);
    expect(shown.stderr.split("\n")[0]).toStartWith(
      `info: cannot read REDIS_TLS_CA file ${missing}: ENOENT`,
    );
    expect(shown.stderr).not.toContain(TLS_REDIS_PASSWORD);
  });
});
