// The node processes a LocalCluster started: those running now, by port (the ones stop()
// stops, and only those), and every one it ever started (destroy() kills those too, even
// while stop() is stopping them). A node that exits without being forgotten first (a crash,
// a kill from outside) is reported once; kill() and stop() forget a node before it exits.
import { ConfigError } from "../errors.ts";
import type { RedisServer } from "./redis-server.ts";

export class NodeProcesses {
  /** The nodes running now, by port. */
  readonly #servers = new Map<number, RedisServer>();
  /** Every node process started, also those being stopped. */
  readonly #started: RedisServer[] = [];

  /** `onExit`: a node exited on its own, with its code and how many still run. */
  constructor(private readonly onExit: (port: number, code: number, left: number) => void) {}

  /** Whether a node runs on `port`. */
  has(port: number): boolean {
    return this.#servers.has(port);
  }

  /** A node started on `port`: watched from now on. */
  add(port: number, server: RedisServer): void {
    this.#servers.set(port, server);
    this.#started.push(server);
    void server.exited.then((code) => this.#exited(port, server, code));
  }

  /** Forgets the node on `port` (its exit, coming, is no news). */
  forget(port: number): void {
    this.#servers.delete(port);
  }

  /** The node running on `port`; a ConfigError when there is none. */
  running(port: number): RedisServer {
    const server = this.#servers.get(port);
    if (!server) throw new ConfigError(`127.0.0.1:${port} is not a running node of this cluster`);
    return server;
  }

  /** Forgets every running node and returns them, to be stopped. */
  takeAll(): RedisServer[] {
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    return servers;
  }

  /** SIGKILL to every node process started, now; a no-op on those already gone. */
  killAll(): void {
    this.#servers.clear();
    for (const server of this.#started) server.kill();
  }

  #exited(port: number, server: RedisServer, code: number): void {
    if (this.#servers.get(port) !== server) return;
    this.#servers.delete(port);
    this.onExit(port, code, this.#servers.size);
  }
}
