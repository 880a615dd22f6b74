// Live updates: the server-sent events of /api/events, read with fetch rather than
// EventSource, which cannot send the token that a dashboard that asks a token for reads wants.
// Reconnects after the interval the server gives (`retry:`) when the stream ends or fails,
// except after a refusal for good (the queue's data format changed: a `refused` event, or a
// 409 on connecting), which no retry mends.
import { authHeaders, scoped } from "./dom.js";

export interface LiveHandlers {
  /** An event: its name and its data, parsed. */
  event(name: string, data: unknown): void;
  /** The stream is down; `why` says what the page should show. */
  down(why: string): void;
  /** The server wants the token (403): no retry until the page connects again. */
  locked(error: string): void;
  /** The queue is refused for good (another data format): said as the actions say it, no retry. */
  refused(error: string): void;
}

let current: AbortController | undefined;

/** Follows the events, replacing any earlier follow (after a new token, say). */
export function follow(on: LiveHandlers): void {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  void run(on, controller.signal);
}

async function run(on: LiveHandlers, signal: AbortSignal): Promise<void> {
  const retry = { ms: 1_000 };
  while (!signal.aborted) {
    try {
      const res = await fetch(scoped("/api/events"), { headers: authHeaders(), signal });
      if (res.status === 403) return on.locked(await refusal(res));
      if (res.status === 409) return on.refused(await refusal(res));
      if (!res.ok || !res.body) throw new Error(await refusal(res));
      const last = await read(res.body, on, retry);
      if (last !== undefined) return on.refused(last);
      on.down("reconnecting…");
    } catch (err) {
      if (signal.aborted) return;
      on.down(`reconnecting… (${(err as Error).message})`);
    }
    await new Promise((resolve) => setTimeout(resolve, retry.ms));
  }
}

async function refusal(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as { error?: unknown };
  return String(body.error ?? `${res.status} ${res.statusText}`);
}

/**
 * Reads `event:`/`data:`/`retry:` blocks (separated by a blank line) until the stream ends;
 * a `refused` event's error, when that is how it ended.
 */
async function read(
  body: ReadableStream<Uint8Array>,
  on: LiveHandlers,
  retry: { ms: number },
): Promise<string | undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const fields = new Map<string, string>();
      for (const line of buffer.slice(0, end).split("\n")) {
        const at = line.indexOf(": ");
        if (at > 0) fields.set(line.slice(0, at), line.slice(at + 2));
      }
      buffer = buffer.slice(end + 2);
      const ms = Number(fields.get("retry"));
      if (ms > 0) retry.ms = ms;
      const data = fields.get("data");
      if (data === undefined) continue;
      const name = fields.get("event") ?? "message";
      if (name === "refused") return String((JSON.parse(data) as { error?: unknown }).error);
      on.event(name, JSON.parse(data));
    }
  }
}
