// A page of a stream's entries bounded in bytes (stream-page.lua's typed owner): listing jobs
// and dead letters reads only what a row shows, and a page of letters stops at its bytes,
// however large a job's payload or a letter is.
import type { Redis } from "../redis/connect.ts";
import { runScript, scripts } from "./lua.ts";

export interface StreamPageQuery {
  /** Newest first (XREVRANGE) rather than oldest first. */
  reverse: boolean;
  /** Where the read starts ('-', '+', '<id>', '(<id>'), and where it may end. */
  from: string;
  to: string;
  /** Entries at most. */
  count: number;
  /** Bytes of fields at most (0: no bound): the entry that reaches it is the page's last. */
  bytes?: number;
  /** A value's bytes at most (0: whole): a longer value is cut to that many. */
  valueBytes?: number;
  /** The fields kept (none: every field). */
  fields?: readonly string[];
}

/** The entries ([id, flat fields]), and `cut` when the bytes ended the page early. */
export async function readStreamPage(
  client: Redis,
  stream: string,
  q: StreamPageQuery,
): Promise<{ entries: [string, string[]][]; cut: boolean }> {
  const [entries, cut] = await runScript<[[string, string[]][], number]>(
    client,
    scripts.streamPage,
    [stream],
    [
      q.reverse ? "XREVRANGE" : "XRANGE",
      q.from,
      q.to,
      q.count,
      q.bytes ?? 0,
      q.valueBytes ?? 0,
      ...(q.fields ?? []),
    ],
  );
  return { entries, cut: Number(cut) === 1 };
}
