// A loopback TCP proxy that can cut the network on purpose, for tests and the chaos run:
// `drop()` closes every connection (the peer sees a reset), `stall()` keeps connections open
// but silently discards everything in both directions (a cut cable: nothing ever errors),
// `stallNew()` does so to new connections only (the open ones go on: a connect that hangs),
// `resume()` lets new connections through again. `hold()` keeps what both sides send back (a
// Redis that is slow, not gone: nothing is lost, nothing errors) until `release()` sends it on;
// a connection closed meanwhile loses what it held, as a stalled command's client does.
// `holdCloses()` keeps Redis' side of a connection open when its client closes it (a close Redis
// has not seen yet: a lost FIN, a proxy that lingers), until `release()`; what Redis sends on
// it meanwhile is lost, as on any closed connection.
import type { Socket } from "bun";

export interface NetProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now (accepted and not closed). */
  readonly open: number;
  drop(): void;
  stall(): void;
  stallNew(): void;
  /** New connections are closed at once (a Redis that is away: each connect fails). */
  refuseNew(): void;
  /** Ends stall(), stallNew() and refuseNew() for new connections. */
  resume(): void;
  hold(): void;
  /** Clients' closes are not passed on to Redis until release(). */
  holdCloses(): void;
  /** Sends on what hold() kept, and passes on the closes holdCloses() kept. */
  release(): void;
  /** Chunks hold() keeps back now, both ways. */
  readonly heldChunks: number;
  close(): void;
}

interface Pair {
  client: Socket<Pair>;
  upstream: Socket<unknown> | null;
  pending: Uint8Array[];
  stalled: boolean;
  /** What hold() kept back, each way, sent in order on release(). */
  held: Uint8Array[];
  heldUp: Uint8Array[];
  /** Bytes a socket did not take yet (Bun's sockets write what fits, the rest is ours). */
  backlog: Map<Socket<unknown>, Uint8Array[]>;
  /** The client closed while closes were held: Redis' side stays open until release(). */
  lingering: boolean;
}

/** Writes everything, in order: what the socket does not take now waits for its drain. */
function send(pair: Pair, socket: Socket<unknown>, chunk: Uint8Array): void {
  const queue = pair.backlog.get(socket);
  if (queue && queue.length > 0) {
    queue.push(new Uint8Array(chunk));
    return;
  }
  const written = socket.write(chunk);
  if (written < chunk.length) pair.backlog.set(socket, [chunk.slice(Math.max(0, written))]);
}

function flush(pair: Pair, socket: Socket<unknown>): void {
  const queue = pair.backlog.get(socket);
  while (queue && queue.length > 0) {
    const chunk = queue[0]!;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      queue[0] = chunk.slice(Math.max(0, written));
      return;
    }
    queue.shift();
  }
}

export function startProxy(targetPort: number, targetHost = "127.0.0.1"): NetProxy {
  const pairs = new Set<Pair>();
  let stalled = false;
  let refusing = false;
  let holding = false;
  let holdingCloses = false;
  /** Pairs whose client closed while closes were held (holdCloses). */
  const lingering = new Set<Pair>();
  let accepted = 0;
  const closePair = (p: Pair) => {
    lingering.delete(p);
    pairs.delete(p);
    p.client.end();
    p.upstream?.end();
  };
  /** The client closed: so is Redis' side, unless closes are held. */
  const clientClosed = (p: Pair) => {
    if (!holdingCloses || !p.upstream) return closePair(p);
    p.lingering = true;
    pairs.delete(p);
    lingering.add(p);
  };
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        accepted++;
        if (refusing) {
          client.end();
          return;
        }
        const pair: Pair = {
          client,
          upstream: null,
          pending: [],
          stalled,
          held: [],
          heldUp: [],
          backlog: new Map(),
          lingering: false,
        };
        client.data = pair;
        pairs.add(pair);
        if (pair.stalled) return; // a cut network: the connection goes nowhere
        void Bun.connect({
          hostname: targetHost,
          port: targetPort,
          socket: {
            open(up) {
              pair.upstream = up;
              for (const chunk of pair.pending.splice(0)) send(pair, up, chunk);
            },
            data(_up, chunk) {
              if (pair.stalled || pair.lingering) return;
              if (holding) pair.held.push(new Uint8Array(chunk));
              else send(pair, pair.client, chunk);
            },
            drain(up) {
              flush(pair, up);
            },
            close() {
              closePair(pair);
            },
            error() {
              closePair(pair);
            },
          },
        }).catch(() => closePair(pair));
      },
      data(client, chunk) {
        const pair = client.data;
        if (pair.stalled) return;
        if (holding) pair.heldUp.push(new Uint8Array(chunk));
        else if (pair.upstream) send(pair, pair.upstream, chunk);
        else pair.pending.push(new Uint8Array(chunk));
      },
      drain(client) {
        flush(client.data, client);
      },
      close(client) {
        if (client.data) clientClosed(client.data); // none: refused at its open
      },
      error(client) {
        if (client.data) clientClosed(client.data);
      },
    },
  });
  return {
    port: server.port,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    get heldChunks() {
      let n = 0;
      for (const p of pairs) n += p.held.length + p.heldUp.length;
      return n;
    },
    drop() {
      for (const p of [...pairs]) closePair(p);
    },
    stall() {
      stalled = true;
      for (const p of pairs) p.stalled = true;
    },
    stallNew() {
      stalled = true;
    },
    refuseNew() {
      refusing = true;
    },
    resume() {
      stalled = false;
      refusing = false;
    },
    hold() {
      holding = true;
    },
    holdCloses() {
      holdingCloses = true;
    },
    release() {
      holding = false;
      holdingCloses = false;
      for (const p of [...lingering]) closePair(p);
      for (const p of pairs) {
        for (const chunk of p.heldUp.splice(0)) {
          if (p.upstream) send(p, p.upstream, chunk);
          else p.pending.push(chunk);
        }
        for (const chunk of p.held.splice(0)) send(p, p.client, chunk);
      }
    },
    close() {
      for (const p of [...pairs, ...lingering]) closePair(p);
      server.stop(true);
    },
  };
}
