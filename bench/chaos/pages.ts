// The chaos run's page server: page n has a known number of words, answers after a short
// random delay (so kills land mid-job), and logs every request, to count how often each job
// really ran.

export interface PageServer {
  url(n: number): string;
  /** Words a reader sees on page n. */
  words(n: number): number;
  /** Requests per page number. */
  requests: Map<number, number>;
  stop(): void;
}

export function startPages(maxDelayMs: number): PageServer {
  const requests = new Map<number, number>();
  const words = (n: number) => (n % 40) + 1;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const n = Number(new URL(req.url).pathname.split("/")[2]);
      if (!Number.isInteger(n)) return new Response("no such page", { status: 404 });
      requests.set(n, (requests.get(n) ?? 0) + 1);
      await Bun.sleep(Math.random() * maxDelayMs);
      const body = Array.from({ length: words(n) }, (_, i) => `w${i}`).join(" ");
      return new Response(`<!doctype html><title>p</title><body><p>${body}</p>`, {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    },
  });
  return {
    url: (n) => `http://127.0.0.1:${server.port}/page/${n}`,
    words,
    requests,
    stop: () => server.stop(true),
  };
}
