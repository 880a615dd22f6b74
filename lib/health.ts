// Health endpoints for orchestrators: /livez (the process is working: restart it if not) and
// /healthz (connected to Redis and reading: send it work; 503 with a JSON reason, e.g. Redis
// out of memory, when not). No details that matter to an attacker.

export interface HealthSource {
  /** Connected to Redis and reading jobs. */
  ready(): boolean;
  /** The read loop has made progress recently (or the worker is stopping on purpose). */
  live(): boolean;
  /** Why the source is not making (full) progress; null when nothing is wrong. */
  problem?(): string | null;
}

export interface HealthServer {
  port: number;
  stop(): void;
}

export function serveHealth(source: HealthSource, port: number, hostname: string): HealthServer {
  const answer = (ok: boolean, what: string) =>
    new Response(`${ok ? "ok" : "not"} ${what}\n`, {
      status: ok ? 200 : 503,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  const server = Bun.serve({
    hostname,
    port,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/livez") return answer(source.live(), "live");
      if (path === "/healthz" || path === "/readyz") {
        const problem = source.problem?.() ?? (source.ready() ? null : "not ready");
        if (problem === null) return answer(true, "ready");
        const headers = { "cache-control": "no-store" };
        return Response.json({ ok: false, reason: problem }, { status: 503, headers });
      }
      return new Response("not found\n", { status: 404 });
    },
  });
  return { port: server.port ?? port, stop: () => server.stop(true) };
}
