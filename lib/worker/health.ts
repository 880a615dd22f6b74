// Health endpoints for orchestrators: /livez (the process is working: restart it if not) and
// /healthz (connected to Redis and reading: send it work; 503 with a JSON reason, e.g. Redis
// out of memory, when not). No details that matter to an attacker.
import { ConfigError, UnavailableError } from "../errors.ts";
import { describeCause } from "../redis/cause.ts";
import { safeJson } from "../safe-text.ts";

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
  const server = listen(hostname, port, (req) => {
    const path = pathOf(req.url);
    if (path === "/livez") return answer(source.live(), "live");
    if (path === "/healthz" || path === "/readyz") {
      const problem = source.problem?.() ?? (source.ready() ? null : "not ready");
      if (problem === null) return answer(true, "ready");
      const headers = { "cache-control": "no-store" };
      return Response.json({ ok: false, reason: problem }, { status: 503, headers });
    }
    return new Response("not found\n", { status: 404 });
  });
  return { port: server.port ?? port, stop: () => server.stop(true) };
}

/**
 * A request's path, read without the URL parser: Bun builds req.url from the Host header, and a
 * request with none (HTTP/1.0, a probe by hand) or a malformed one (`a b`, `[zz`, a port past
 * 65535) has a URL that does not parse. `new URL` threw on it: a 500 to the probe, and Bun's
 * error page (the source around the line, its path, the stack) to whoever sent it.
 */
function pathOf(url: string): string {
  return url.replace(/^[a-z][a-z\d+.-]*:\/\/[^/?#]*/i, "").split(/[?#]/)[0] || "/";
}

/**
 * What a request that threw is answered: nothing of the error, which goes to stderr in one
 * escaped line. Without it, Bun answers its development error page (the code around the throw,
 * file paths, the stack) to any client.
 */
function internalError(err: unknown): Response {
  process.stderr.write(`health: internal error: ${safeJson(describeCause(err))}\n`);
  return new Response("internal error\n", {
    status: 500,
    headers: { "cache-control": "no-store" },
  });
}

/** Bun.serve, with a port in use or an address this machine lacks as one ConfigError line. */
export function listen(
  hostname: string,
  port: number,
  fetch: (req: Request) => Response | Promise<Response>,
): ReturnType<typeof Bun.serve> {
  try {
    return Bun.serve({ hostname, port, fetch, error: internalError });
  } catch (err) {
    throw listenError(err, hostname, port);
  }
}

const LISTEN_WHY: Record<string, string> = {
  EADDRINUSE: "address in use (another process listens on that port)",
  EADDRNOTAVAIL: "no such address on this machine",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EINVAL: "not a valid address to listen on",
  // A host name that does not resolve (`a b`, `localhost:80`): the name is the mistake.
  ENOTFOUND: "no such address",
  EAI_NONAME: "no such address",
  EAI_FAIL: "no such address",
  EAI_AGAIN: "its name could not be resolved now (DNS did not answer)",
};

// The machine's state, not the option's spelling: --help would not help (bin/_cli.ts).
const UNAVAILABLE = new Set(["EADDRINUSE", "EADDRNOTAVAIL", "EACCES", "EAI_AGAIN"]);

/** `cannot listen on HOST:PORT: address in use`, a usage error (exit 2), for a failed listen. */
export function listenError(err: unknown, hostname: string, port: number): Error {
  const code = (err as { code?: string })?.code ?? "";
  const why = LISTEN_WHY[code];
  if (!why) return err as Error;
  const Refusal = UNAVAILABLE.has(code) ? UnavailableError : ConfigError;
  return new Refusal(`cannot listen on ${hostPort(hostname, port)}: ${why}`, { cause: err });
}

/**
 * A port in use, with the command's way to another port appended (`give --port or …`): the
 * library's error names no option, a command's names its own.
 */
export function withPortHint(err: unknown, hint: string): unknown {
  const code = (err as { cause?: { code?: string } })?.cause?.code;
  if (!(err instanceof UnavailableError) || code !== "EADDRINUSE") return err;
  return new UnavailableError(`${err.message}; ${hint}`, { cause: err.cause });
}

/** `host:port`, an IPv6 address in brackets (`[::1]:9090`), once (`--host [::1]` has them). */
export function hostPort(hostname: string, port: number): string {
  const bare = hostname.includes(":") && !hostname.startsWith("[");
  return `${bare ? `[${hostname}]` : hostname}:${port}`;
}
