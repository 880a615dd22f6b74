// What a Queue's, an Admin's or a Schedules' close() does to its calls: every call made after it
// began is refused (InputError "this Queue is closed"), and a call made before it gets its
// reply: close() waits for the tries in flight before it closes the client (lib/redis/close.ts
// bounds that wait). A try that still reaches the closed client is refused as closed, not as
// "unreachable": it is our close, not an outage.
import { ClientClosedError } from "@redis/client";
import { InputError } from "../errors.ts";
import { asOutage } from "./calls.ts";

export class CallGate {
  /** Aborted by close(): every call after it is refused, and the waits under way end. */
  readonly closing = new AbortController();
  /** The tries under way: close() lets their replies land. */
  readonly #inFlight = new Set<Promise<unknown>>();

  /** `what`: "Queue", "Admin", …; `reopen`: how to get a new one, for the message. */
  constructor(
    readonly what: string,
    readonly reopen: string,
  ) {}

  closedError(): InputError {
    return new InputError(`this ${this.what} is closed: connect a new one (${this.reopen})`);
  }

  /** Throws when closed: the connection is gone, a call cannot be made. */
  refuseIfClosed(): void {
    if (this.closing.signal.aborted) throw this.closedError();
  }

  /** One try of a call: refused once closed, and waited for by close() while under way. */
  async try<T>(fn: () => Promise<T>): Promise<T> {
    this.refuseIfClosed();
    const p = fn();
    this.#inFlight.add(p);
    try {
      return await p;
    } catch (err) {
      // A command of this try sent after our own close closed the client: refused as closed.
      if (this.closing.signal.aborted && err instanceof ClientClosedError) {
        throw this.closedError();
      }
      throw err;
    } finally {
      this.#inFlight.delete(p);
    }
  }

  /**
   * One call not retried (an Admin's, a Schedules'): `try`, and Redis unreachable said as a
   * Queue's last try says it, a ConnectError naming `redisUrl` (masked; none given: as it came).
   */
  call<T>(fn: () => Promise<T>, redisUrl?: string): Promise<T> {
    if (redisUrl === undefined) return this.try(fn);
    return this.try(fn).catch((err: unknown) => {
      throw asOutage(redisUrl, err);
    });
  }

  /** Begins closing: calls are refused from now; resolves once the tries under way settled. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.#inFlight]);
  }
}
