// What a job carries (an error, a payload, a result) reaches `curl … /api/…` on a terminal: the
// dashboard's JSON spells DEL, C1, bidi controls and the characters that show nothing or break a
// line unseen as \u escapes, as the CLIs' --json does. JSON.stringify escaped C0 only: U+009B
// (CSI on a terminal), U+202E and U+2028 went out raw, in the API and in the live updates.
import { afterEach, expect, test } from "bun:test";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { deadJobs } from "./fixtures/dashboard.ts";
import { readUntil, redisUrl, testPrefix } from "./helpers.ts";

const HOSTILE = "a\u007fb\u009b2Jc\u202ed\u2028e\u200bf\ufeffg\u{e0041}h";
// The raw characters, none of which may be in a response's bytes.
const RAW = /[\u007f-\u009f\u202a-\u202e\u2028\u2029\u200b\ufeff]|\udb40[\udc00-\udc7f]/;

const hostile = defineTask({
  name: "hostile",
  run: async (_: { n: number }) => {
    throw new PermanentError(`boom ${HOSTILE}`);
  },
});

const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

test("the JSON API and the live updates carry no raw control character, the same values", async () => {
  const prefix = testPrefix();
  const [id] = await deadJobs(prefix, 1, { task: hostile });
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  running.push(d);
  for (const path of [`/api/jobs/${id}`, "/api/dead", "/api/failures", "/api/jobs/a%C2%9B"]) {
    const res = await fetch(d.url + path);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    const text = await res.text();
    expect({ path, raw: RAW.exec(text)?.[0] ?? null }).toEqual({ path, raw: null });
    if (path.endsWith("%C2%9B")) {
      expect(JSON.parse(text)).toEqual({ error: '"a\u009b" is not a job id' });
    } else {
      expect(text).toContain(
        `boom ${JSON.stringify(HOSTILE)
          .slice(1, -1)
          .replace(/[^\x00-\x7e]/gu, escaped)}`,
      );
      expect(JSON.stringify(JSON.parse(text))).toContain(`boom ${HOSTILE}`);
    }
  }
  // Read here, not with firstSnapshot: its `.*` stops at a raw U+2028 and would wait for ever.
  const res = await fetch(`${d.url}/api/events`);
  const reader = res.body!.getReader();
  const text = await readUntil(reader, (t) => /event: snapshot\ndata: [^\n]*\n/.test(t));
  await reader.cancel();
  expect(RAW.exec(text)?.[0] ?? null).toBeNull();
  const data = JSON.parse(text.split("event: snapshot\ndata: ")[1]!.split("\n")[0]!);
  expect(data.failures.failures[0].error).toBe(`boom ${HOSTILE}`);
});

/** A character as JSON's \u escape(s): what the response spells it as. */
function escaped(c: string): string {
  return [...Array(c.length).keys()]
    .map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`)
    .join("");
}
