// The page's list of jobs by state (`/api/jobs`, as `queue.ts jobs` lists them): one page at
// a time, newest first, with the cursor of each page kept for going back to the newest.
import { $, api, dateTime, failed, fill, jobLink, type Row, text } from "./dom.js";

const list = { state: "waiting", cursors: [] as (string | null)[] };

export async function loadJobs(cursor: string | null): Promise<void> {
  const query = `state=${encodeURIComponent(list.state)}&limit=20`;
  const page = await api(
    `/api/jobs?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
  ).catch(failed);
  if (!page) return;
  fill(
    "jobs",
    (page.jobs as Row[]).map((j) => [
      jobLink(j.id),
      text(j.task || "–"),
      text(dateTime(j.at)),
      text(j.attempt ?? "–"),
      text(j.worker ?? ""),
    ]),
    `no ${list.state} jobs`,
  );
  const older = $<HTMLButtonElement>("jobs-older");
  older.disabled = !page.next;
  older.dataset.next = String(page.next ?? "");
}

export function wireJobs(): void {
  $("jobs-state").addEventListener("change", (e) => {
    list.state = (e.target as HTMLSelectElement).value;
    list.cursors = [];
    void loadJobs(null);
  });
  $("jobs-older").addEventListener("click", () => {
    list.cursors.push($("jobs-older").dataset.next || null);
    void loadJobs(list.cursors.at(-1) ?? null);
  });
  $("jobs-newest").addEventListener("click", () => {
    list.cursors = [];
    void loadJobs(null);
  });
  void loadJobs(null);
}
