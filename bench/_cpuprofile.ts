// Reading a `bun --cpu-prof` profile (Chrome's .cpuprofile JSON). Time is counted in samples,
// not in the profile's time deltas: Bun charges the idle time between two samples to the
// function sampled next, so an idle worker would look busy in whatever ran after each wait.

export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
}

export interface HotFunction {
  fn: string;
  location: string;
  origin: string;
  samples: number;
}

export interface CpuSummary {
  samples: number;
  /** Functions by their own samples (self time), most first. */
  hot: HotFunction[];
  /**
   * Samples by the code that asked for the work: a native function (a socket write, a string
   * decode) is charged to its nearest caller in lib/, node-redis or another package.
   */
  byCaller: Map<string, number>;
}

const IDLE = new Set(["(idle)", "(root)"]);

export function summarise(profile: CpuProfile, root: string): CpuSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hot = new Map<string, HotFunction>();
  const byCaller = new Map<string, number>();
  let samples = 0;
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (!node || IDLE.has(node.callFrame.functionName)) continue;
    samples++;
    const location = where(node.callFrame, root);
    const fn = node.callFrame.functionName || "(anonymous)";
    const key = `${fn} ${location}`;
    const entry = hot.get(key) ?? { fn, location, origin: origin(fn, location), samples: 0 };
    entry.samples++;
    hot.set(key, entry);
    const caller = callerOrigin(id, byId, parent, root) ?? entry.origin;
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + 1);
  }
  return { samples, hot: [...hot.values()].sort((a, b) => b.samples - a.samples), byCaller };
}

function callerOrigin(
  id: number,
  byId: Map<number, CpuProfile["nodes"][number]>,
  parent: Map<number, number>,
  root: string,
): string | undefined {
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const frame = byId.get(cur)?.callFrame;
    if (!frame) return undefined;
    const o = origin(frame.functionName, where(frame, root));
    if (o !== "native" && o !== "runtime") return o;
  }
  return undefined;
}

/** A frame's file and line, relative to the tree (node_modules/… for packages). */
function where(frame: CpuProfile["nodes"][number]["callFrame"], root: string): string {
  if (!frame.url) return "[native code]";
  const path = frame.url
    .replace(/^file:\/\//, "")
    .replace(`${root}/`, "")
    .replace(/^.*\/node_modules\//, "node_modules/");
  return `${path}:${frame.lineNumber + 1}`;
}

export function origin(fn: string, location: string): string {
  if (fn === "(garbage collector)") return "gc";
  if (location.startsWith("node_modules/@redis/")) return "node-redis";
  if (location.startsWith("node_modules/")) return "other packages";
  if (location.startsWith("lib/")) return "courier lib/";
  if (location.startsWith("bench/")) return "bench";
  if (location === "[native code]") return "native";
  return "runtime";
}
