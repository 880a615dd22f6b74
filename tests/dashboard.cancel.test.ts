// The dashboard's cancel (POST /api/jobs/:id/cancel, the job page's button): with the token, a
// queued job is canceled and its page says so; a second cancel answers that it had ended (200,
// a no-op); an unknown id is 404; the page carries the button.
import { afterEach, expect, test } from "bun:test";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { openQueue, redisUrl, testPrefix } from "./helpers.ts";

const TOKEN = "cancel-test-token-0001";
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

async function post(d: Dashboard, path: string) {
  const res = await fetch(d.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: "{}",
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test("cancel a queued job from the dashboard; again is a no-op; unknown is 404", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("anything", { n: 1 });
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
  running.push(d);

  expect(await post(d, `/api/jobs/${id}/cancel`)).toEqual({
    status: 200,
    body: { id, verdict: "canceled", from: "queued" },
  });
  const job = (await (await fetch(`${d.url}/api/jobs/${id}`)).json()) as Record<string, unknown>;
  expect(job).toMatchObject({ id, status: "canceled", note: "while queued", result: null });
  expect(await post(d, `/api/jobs/${id}/cancel`)).toEqual({
    status: 200,
    body: { id, verdict: "ended", status: "canceled" },
  });
  expect((await post(d, "/api/jobs/no-such-job/cancel")).status).toBe(404);
  const metrics = await (await fetch(`${d.url}/metrics`)).text();
  expect(metrics).toContain('courier_jobs_canceled_total{queue="default"} 1\n');
  const page = await (await fetch(`${d.url}/`)).text();
  expect(page).toContain('<button id="job-cancel" class="action" type="button" hidden>');
});
