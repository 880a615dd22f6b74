// An id or a name the user may paste back into a command is printed whole (escaped by
// safeText, shownId), not cut at 80: two ids of 128 characters that differ at the end read
// differently, and the one printed is the one to type. Only what is longer than any id Courier
// takes (200) is cut, as free text is (tests/cli.error-length.test.ts: a 100,000-character one).
import { describe, expect, test } from "bun:test";
import { runCli, testPrefix } from "./helpers.ts";

// A job id may be 128 characters; a schedule name found in Redis is whatever was written there.
const long = (end: string) => `${"a".repeat(127)}${end}`;

describe("ids and names printed whole", () => {
  test("dead show: no dead letter for a long id, named whole", async () => {
    const prefix = testPrefix();
    for (const end of ["1", "2"]) {
      const out = await runCli("dead", ["show", long(end), "--prefix", prefix]);
      expect(out.code).toBe(4);
      expect(out.stderr).toBe(`dead: no dead letter for job ${long(end)}\n`);
    }
  });

  test("dead show: a long id's control characters escaped, not cut", async () => {
    const prefix = testPrefix();
    const id = `${"b".repeat(100)}\x1b[31m`;
    const out = await runCli("dead", ["show", id, "--prefix", prefix]);
    expect(out.stderr).toBe(`dead: no dead letter for job ${"b".repeat(100)}\\x1b[31m\n`);
  });

  // R106 finding 5: requeue and delete printed an unknown id whole whatever its length (5,000
  // characters: 5 KB on stderr); they quote it as show does: whole up to 200, then cut.
  for (const verb of ["requeue", "delete"]) {
    test(`dead ${verb}: an id past any id's length is cut, a long real one whole`, async () => {
      const prefix = testPrefix();
      const out = await runCli("dead", [verb, "c".repeat(5_000), long("3"), "--prefix", prefix]);
      expect(out.code).toBe(4);
      expect(out.stderr).toBe(
        `dead: ${"c".repeat(200)}…: no dead letter for this job\ndead: ${long("3")}: no dead letter for this job\n`,
      );
    });
  }

  for (const verb of ["remove", "pause", "resume"]) {
    test(`schedule ${verb}: no schedule of a long name, named whole`, async () => {
      const prefix = testPrefix();
      const out = await runCli("schedule", [verb, long("9"), "--prefix", prefix]);
      expect(out.code).toBe(4);
      expect(out.stderr).toBe(`schedule: no schedule ${long("9")} (prefix ${prefix})\n`);
    });
  }
});
