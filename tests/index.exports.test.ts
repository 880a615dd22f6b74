// Every error class the library throws is exported from lib/index.ts, the public API: an embedder
// tells errors apart with `instanceof`, which needs the class. `RedisRefusedError` (a key of the
// wrong type, documented for waitForJobs, mustGetJob and the events iterator) was not.
import { expect, test } from "bun:test";
import * as errors from "../lib/errors.ts";
import * as api from "../lib/index.ts";

test("every error class of lib/errors.ts is exported by lib/index.ts", () => {
  const classes = Object.entries(errors).filter(
    ([, v]) => typeof v === "function" && v.prototype instanceof Error,
  );
  expect(classes.length).toBeGreaterThan(10);
  const missing = classes
    .filter(([name, v]) => (api as Record<string, unknown>)[name] !== v)
    .map(([name]) => name);
  expect(missing).toEqual([]);
  expect(api.RedisRefusedError).toBe(errors.RedisRefusedError);
});
