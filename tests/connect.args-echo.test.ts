// A Redis that knows no AUTH (renamed away with rename-command, or a proxy without it) answers
// the URL's password with "ERR unknown command 'AUTH', with args beginning with: 'PASSWORD'":
// every CLI printed that reply, the password in it, and the library kept it in its error.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "../lib/index.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { onOneServer, runCli, testPrefix } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "courier-args-echo-"));
let server: RedisServer | null = null;
const PASSWORD = "pw-echoed-7Qz";

beforeAll(async () => {
  if (!onOneServer) return; // a server of its own, one node
  server = await startRedisServer({
    ...{ port: await findFreePort(), dataDir: dir, persistence: false },
    extraArgs: ["--rename-command", "AUTH", ""],
  });
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function urlWith(credentials: string): string {
  const { hostname, port } = new URL(server!.url);
  return `redis://${credentials}@${hostname}:${port}`;
}

test.if(onOneServer)("a CLI shows a reply that echoes AUTH's arguments without them", async () => {
  for (const credentials of [`:${PASSWORD}`, `bob:${PASSWORD}`]) {
    const r = await runCli("info", ["--prefix", testPrefix()], {
      env: { REDIS_URL: urlWith(credentials) },
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("ERR unknown command 'AUTH'");
    expect(r.stderr).not.toContain(PASSWORD);
  }
});

test.if(onOneServer)(
  "the library's ConnectError and its cause hold no echoed password",
  async () => {
    const err = await Queue.connect({ redisUrl: urlWith(`bob:${PASSWORD}`), prefix: testPrefix() })
      .then(() => null)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("unknown command 'AUTH'");
    expect(Bun.inspect(err)).not.toContain(PASSWORD);
    expect(String((err as Error).cause)).not.toContain(PASSWORD);
  },
);
