// Health endpoints for orchestrators: /livez (the process is working: restart it if not) and
// /healthz (connected to Redis and reading: send it work). Plain text, no details that matter
// to an attacker.

export interface HealthSource {
  /** Connected to Redis and reading jobs. */
  ready(): boolean;
  /** The read loop has made progress recently (or the worker is stopping on purpose). */
  live(): boolean;
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
      if (path === "/healthz" || path === "/readyz") return answer(source.ready(), "ready");
      return new Response("not found\n", { status: 404 });
    },
  });
  return { port: server.port ?? port, stop: () => server.stop(true) };
}
