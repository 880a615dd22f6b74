// The Redis a stack runs on, made ready before any worker starts: what can be checked first
// (redis-server installed, Courier's bin files there), a Redis given with --redis-url answering,
// or our own redis-server on a free port (with --cluster, a local cluster: _local-redis.ts).
import { resolve } from "node:path";
import { ConfigError, ConnectError, InputError, UnavailableError } from "../errors.ts";
import { connect } from "../redis/connect.ts";
import { listenError } from "../worker/health.ts";
import { ensureDataDir, refuseSharedDataDir } from "./_data-dir.ts";
import { type LocalRedis, serverRedis, startStackCluster } from "./_local-redis.ts";
import type { Output } from "./_output.ts";
import { isCompiled, runsOwnCommands, scriptOf } from "./_self.ts";
import type { StackOptions } from "./options.ts";
import {
  findRedisServer,
  listenProblem,
  REDIS_NOT_INSTALLED,
  type RedisServer,
  startRedisServer,
} from "./redis-server.ts";

// The Redis named by --redis-url must answer this soon: the connect timeout of every command.
const GIVEN_REDIS_TIMEOUT_MS = 5_000;

/** The Redis this stack runs, if any: none when given one. */
export async function startOwnRedis(
  options: StackOptions,
  output: Output,
): Promise<LocalRedis | undefined> {
  if (options.redisUrl) return undefined;
  if (options.cluster) return startStackCluster(options, output);
  return serverRedis(await startLocalRedis(options, output), options.dataDir);
}

/** What can be checked before anything starts. */
export async function preflight(options: StackOptions): Promise<void> {
  // Compiled, the workers are this executable; from a checkout, its bin/ files.
  if (!runsOwnCommands()) {
    throw new UnavailableError(
      `${process.execPath} is the stack alone: it cannot run its workers and dashboard, which are subcommands of the whole build; run "bun run build", then "dist/courier stack"`,
    );
  }
  if (!options.redisUrl && !findRedisServer()) throw new ConnectError(REDIS_NOT_INSTALLED);
  if (!options.redisUrl) ensureDataDir(options.dataDir);
  if (isCompiled()) return;
  for (const script of [scriptOf("worker"), scriptOf("dashboard")]) {
    if (!(await Bun.file(script).exists())) {
      throw new InputError(`cannot start workers: ${script} does not exist`);
    }
  }
}

/**
 * Workers pointed at a Redis that does not answer would only be restarted every 2 s for ever,
 * under a "ready" line: check it first, as each worker will (connect, INFO, version), and say
 * why in one line (URL masked) if it fails.
 */
export async function checkGivenRedis(url: string): Promise<void> {
  const client = await connect(url, { timeoutMs: GIVEN_REDIS_TIMEOUT_MS });
  client.destroy();
}

async function startLocalRedis(options: StackOptions, output: Output): Promise<RedisServer> {
  const port = options.redisPort;
  const problem = await listenProblem(port);
  if (problem) {
    // One wording with the worker's and the dashboard's ports, plus the two ways out.
    const err = listenError(problem, "127.0.0.1", port);
    if (!(err instanceof ConfigError)) throw err;
    const inUse = (problem as { code?: string }).code === "EADDRINUSE";
    const there = `, or use the Redis there with --redis-url redis://127.0.0.1:${port}`;
    const Refusal = err instanceof UnavailableError ? UnavailableError : ConfigError;
    throw new Refusal(
      `${err.message}; start Redis on another port with --redis-port <port>` +
        // The data folder too when the Redis there is another stack's: one AOF per server.
        `${inUse ? ` (and --data-dir DIR if it is another stack's)${there}` : ""}`,
      { cause: problem },
    );
  }
  // startRedisServer refuses a folder another live Redis uses too: checked here first, so the
  // refusal is not preceded by a line saying that a server starts.
  refuseSharedDataDir(resolve(options.dataDir));
  output.line("system", `starting redis-server on 127.0.0.1:${port}, data in ${options.dataDir}`);
  return startRedisServer({
    port,
    dataDir: options.dataDir,
    persistence: true,
    detached: true,
    onLine: (line) => output.line("redis.1", line),
  });
}
