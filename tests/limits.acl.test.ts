// Rate limits under the README's ACL rules (read from README.md itself: tests/fixtures/acl.ts):
// the admin sets and changes limits (a key rate changed wakes the jobs it held), and a worker
// runs keyed jobs of a limited queue (limit.lua, limit-done.lua, hold.lua, wake.lua).
import { afterEach, expect, test } from "bun:test";
import { aclUser, dropAclUsers } from "./fixtures/acl.ts";
import { backgroundWorker, HTML, pages, triggerOne } from "./fixtures/cli/harness.ts";
import { runCli, testPrefix } from "./helpers.ts";

afterEach(dropAclUsers);

test("the admin's and worker's rules are enough for a queue with key limits", async () => {
  const prefix = testPrefix();
  const admin = ["--prefix", prefix, "--redis-url", await aclUser("admin", prefix)];
  const producer = ["--redis-url", await aclUser("producer", prefix)];
  const site = pages(() => new Response("<p>one two</p>", { headers: HTML }));
  const worker = backgroundWorker(prefix, "--redis-url", await aclUser("worker", prefix));
  try {
    await worker.logged("worker started");
    const set = ["limit", "default", "--key-concurrency", "1", "--key-rate", "2/s", ...admin];
    const limited = await runCli("queue", set);
    expect({ code: limited.code, stderr: limited.stderr }).toEqual({ code: 0, stderr: "" });
    const ids = [];
    for (const page of ["/a", "/b", "/c"])
      ids.push(await triggerOne(prefix, site.url(page), ...producer));
    for (const id of ids) {
      const r = await runCli("result", [
        "--prefix",
        prefix,
        ...producer,
        "--jobid",
        id,
        "--wait",
        "20",
      ]);
      expect({ id, code: r.code }).toEqual({ id, code: 0 });
    }
    const off = await runCli("queue", ["limit", "default", "--key-rate", "off", ...admin]);
    expect({ code: off.code, stderr: off.stderr }).toEqual({ code: 0, stderr: "" });
  } finally {
    worker.proc.kill("SIGTERM");
    const ended = await worker.ended();
    site.stop();
    expect(ended.stdout).not.toMatch(/NOPERM|unreachable|could not/);
  }
});
