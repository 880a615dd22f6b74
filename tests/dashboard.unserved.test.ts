// The overview's card of tasks no live worker has: the snapshot carries the first
// UNSERVED_TASKS_SHOWN by name and the total (lib/admin/unserved.ts), the card says how many more.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { quietCounts } from "./fixtures/counts.ts";
import { ROOT } from "./helpers.ts";

const { unservedText } = await import("../lib/dashboard/client/overview.ts");

test("the card lists the tasks shown, then how many more there are", () => {
  const counts = (tasks: [string, number][], total: number) => ({
    ...quietCounts("q"),
    unservedTasks: tasks.map(([task, jobs]) => ({ task, jobs })),
    unservedTasksTotal: total,
  });
  expect(
    unservedText(
      counts(
        [
          ["resize", 3],
          ["thumb", 1],
        ],
        2,
      ),
    ),
  ).toBe("resize (3 jobs), thumb (1 job)");
  expect(
    unservedText(
      counts(
        [
          ["resize", 3],
          ["thumb", 1],
        ],
        27,
      ),
    ),
  ).toBe("resize (3 jobs), thumb (1 job), and 25 more");
  const page = readFileSync(resolve(ROOT, "lib/dashboard/page.html"), "utf8");
  expect(page).toContain('id="unserved-card" hidden');
  expect(page).toContain('id="count-unserved"');
});
