// What a mutant is, and the one way the lists (list.ts, engine.ts) write one.

export interface Mutant {
  id: string;
  /** The guarantee it breaks, in a few words. */
  breaks: string;
  file: string;
  search: string;
  replace: string;
  /** Test files (under tests/) run against it; at least one must fail. */
  tests: string[];
  /** Why no test can tell it from the real code (then a survivor does not fail the run). */
  equivalent?: string;
}

/** One mutant: id, file, what it breaks, the exact text, its replacement, the tests. */
export function m(
  id: string,
  file: string,
  breaks: string,
  search: string,
  replace: string,
  tests: string[],
  equivalent?: string,
): Mutant {
  return { id, file, breaks, search, replace, tests, equivalent };
}
