// `bun bench/chaos.ts` options: --help prints the usage, a mistake one line and the usage
// (exit 2), never a stack trace, as bench/run.ts does.
import { parseArgs } from "node:util";

const USAGE = `usage: bun bench/chaos.ts [options]
  --jobs N            word-count jobs enqueued (default 20000)
  --producers N       producers enqueueing at once (default 4)
  --workers N         worker processes, each SIGKILLed in turn and restarted (default 4)
  --concurrency N     jobs each worker runs at once (default 16; below 16 a worker also
                      holds one job ahead: prefetch)
  --redis-restarts N  times Redis is killed and restarted during the run (default 2)
  --kill-every-ms MS  one worker SIGKILLed this often (default 1000)
  --drop-every-ms MS  every connection through the proxy dropped this often (default 3000)
  --max-seconds S     give up (exit 1) when the jobs have not all ended by then (default 170)
  --page-delay-ms MS  how long the page server takes to answer (default 200)
  --cluster           on a local 3+3 Redis Cluster (AOF, cluster-require-full-coverage no), a
                      queue of 6 shards: worker kills as above, and one master killed (kill -9)
                      midway instead of the Redis restarts and connection drops`;

const DEFAULTS = {
  jobs: "20000",
  producers: "4",
  workers: "4",
  concurrency: "16",
  "redis-restarts": "2",
  "kill-every-ms": "1000",
  "drop-every-ms": "3000",
  "max-seconds": "170",
  "page-delay-ms": "200",
} as const;

export type ChaosOptions = Record<keyof typeof DEFAULTS, number> & { cluster: boolean };

/** The run's options from argv; exits 0 after --help, 2 on a mistake. */
export function chaosOptions(argv: string[]): ChaosOptions {
  const strings = Object.fromEntries(
    Object.entries(DEFAULTS).map(([k, v]) => [k, { type: "string", default: v }]),
  ) as Record<keyof typeof DEFAULTS, { type: "string"; default: string }>;
  let values: Record<string, string | boolean | undefined>;
  try {
    const flags = { help: { type: "boolean" }, cluster: { type: "boolean" } } as const;
    values = parseArgs({ args: argv, options: { ...strings, ...flags } }).values;
  } catch (err) {
    return exit(`chaos: ${(err as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) return exit(USAGE, 0);
  const out = { cluster: values.cluster === true } as ChaosOptions;
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const n = Number(values[key]);
    // restarts may be 0; every other figure is a count or an interval of at least 1
    const least = key === "redis-restarts" ? 0 : 1;
    if (!Number.isInteger(n) || n < least) {
      exit(`chaos: --${key} takes a whole number >= ${least}\n${USAGE}`, 2);
    }
    out[key] = n;
  }
  return out;
}

function exit(message: string, code: number): never {
  (code === 0 ? process.stdout : process.stderr).write(`${message}\n`);
  process.exit(code);
}
