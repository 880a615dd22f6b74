// PRIVATE COPY (h5-tmp) of `V2Keys`/`v2Keys` from lib/engine/v2/keys.ts (h-4, which owns it),
// the same names and fields, so the lead dedupes at merge by pointing imports at keys.ts.

export interface V2Keys {
  stream: string;
  result: (id: string) => string;
  resultPrefix: string;
  record: (id: string) => string;
  recordPrefix: string;
  receipt: (batch: string) => string;
  meta: string;
  delayed: string;
  dead: string;
  events: string;
  stats: string;
  minutes: string;
  durations: string;
  tasks: string;
  parkedPrefix: string;
  workers: string;
  workerPrefix: string;
}

export function v2Keys(prefix: string, queue: string): V2Keys {
  const base = `${prefix}:{${queue}}`;
  const resultPrefix = `${base}:r:`;
  const recordPrefix = `${base}:job:`;
  return {
    stream: `${base}:stream`,
    result: (id) => resultPrefix + id,
    resultPrefix,
    record: (id) => recordPrefix + id,
    recordPrefix,
    receipt: (batch) => `${base}:receipt:${batch}`,
    meta: `${base}:meta`,
    delayed: `${base}:delayed`,
    dead: `${base}:dead`,
    events: `${base}:events`,
    stats: `${base}:stats`,
    minutes: `${base}:stats:minutes`,
    durations: `${base}:stats:durations`,
    tasks: `${base}:tasks`,
    parkedPrefix: `${base}:parked:`,
    workers: `${base}:workers`,
    workerPrefix: `${base}:worker:`,
  };
}
