// Reading one field out of the flat [field, value, …] lists Redis returns for stream entries.

/** The value of `name` in a flat [field, value, …] list. */
export function field(fields: readonly string[] | null | undefined, name: string): string | null {
  if (!fields) return null;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!;
  return null;
}
