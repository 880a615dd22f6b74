// A server's Retry-After (RFC 9110 10.2.3): delay-seconds, or an HTTP-date in one of its three
// forms, read strictly. Date.parse alone is lenient: it takes "abc 5" or "Tue 40000" as dates
// (in the past, so a wait of 0), and a wait of 0 from junk would burn a job's holds at once.

/** The longest a Retry-After is obeyed (1 h): a hostile or broken server parks nothing longer. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

const DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun";
const LONG_DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH = MONTHS.join("|");
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})";
/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF = new RegExp(`^(?:${DAYS}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
/** RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850 = new RegExp(`^(?:${LONG_DAYS}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`);
/** asctime: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME = new RegExp(`^(?:${DAYS}) (${MONTH}) ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * Milliseconds to wait from a Retry-After header: delay-seconds or an HTTP-date (in the past
 * means 0), at most `maxMs`. Undefined when absent or not one of those forms, so the queue's
 * own back-off applies.
 */
export function parseRetryAfter(
  value: string | null,
  nowMs: number,
  maxMs = MAX_RETRY_AFTER_MS,
): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  // Digits only: Number() would take "1e3", "0x10" and "" too.
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, maxMs);
  const at = parseHttpDate(trimmed, nowMs);
  return at === undefined ? undefined : Math.min(Math.max(0, at - nowMs), maxMs);
}

/** An HTTP-date in one of its three forms as ms since 1970, else undefined. */
export function parseHttpDate(text: string, nowMs: number): number | undefined {
  let m = IMF.exec(text);
  if (m) return utc(Number(m[3]), m[2]!, m[1]!, m.slice(4, 7));
  m = RFC850.exec(text);
  if (m) return utc(fullYear(Number(m[3]), nowMs), m[2]!, m[1]!, m.slice(4, 7));
  m = ASCTIME.exec(text);
  if (m) return utc(Number(m[6]), m[1]!, m[2]!, m.slice(3, 6));
  return undefined;
}

/** RFC 9110: a two-digit year more than 50 years ahead is in the past century. */
function fullYear(yy: number, nowMs: number): number {
  const now = new Date(nowMs).getUTCFullYear();
  const year = now - (now % 100) + yy;
  return year > now + 50 ? year - 100 : year;
}

/** The date's ms, or undefined for a day or time no calendar has (31 Feb, 25:00). */
function utc(year: number, month: string, day: string, time: string[]): number | undefined {
  const [h, min, s] = time.map(Number) as [number, number, number];
  const mon = MONTHS.indexOf(month);
  const d = Number(day.trim());
  if (h > 23 || min > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, mon, d, h, min, s);
  return new Date(ms).getUTCDate() === d ? ms : undefined;
}
