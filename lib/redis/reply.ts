// Reading the flat [field, value, …] lists Redis returns (HGETALL, CONFIG GET, XINFO, stream
// entries): one copy of the loop over pairs.

/** The [field, value] pairs of a flat [field, value, …] list (an odd last element is ignored). */
export function* pairs<T>(flat: readonly T[]): Generator<[T, T]> {
  for (let i = 0; i + 1 < flat.length; i += 2) yield [flat[i]!, flat[i + 1]!];
}

/** A flat [field, value, …] list as a map, field names as strings. */
export function toMap<T>(flat: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const [name, value] of pairs(flat)) map.set(String(name), value);
  return map;
}

/**
 * The value of `name` in a flat [field, value, …] list; of a name given twice (a stream entry
 * written by hand), the last, as toMap, the entry check and the scripts (include/fields.lua)
 * read it: `dead list` showed a letter's first `id` while requeue and delete acted on its last.
 */
export function field(fields: readonly string[] | null | undefined, name: string): string | null {
  if (!fields) return null;
  for (let i = fields.length - (fields.length % 2) - 2; i >= 0; i -= 2) {
    if (fields[i] === name) return fields[i + 1] ?? null;
  }
  return null;
}

/**
 * A sorted set's score as Redis writes it: a number, or `inf` / `-inf`, which `ZADD` takes (a
 * hand edit) and `Number` reads as NaN: a NaN tick or sleep made a loop spin.
 */
export function scoreOf(text: string): number {
  const n = Number(text);
  if (!Number.isNaN(n)) return n;
  const t = text.toLowerCase();
  if (t === "inf" || t === "+inf") return Number.POSITIVE_INFINITY;
  return t === "-inf" ? Number.NEGATIVE_INFINITY : n;
}
