// A diagnostic for the latency tail (docs/performance.md, "What makes the p99: the JavaScript
// compiler's threads"): `BENCH_JIT_NICE=all` (the bench process, which hosts the producers and
// waiters, and every worker process) or `=courier`, `=bullmq,raw`, ... (those contenders' worker
// processes) lowers the scheduling priority of the engine's compiler threads (JavaScriptCore's
// `JITWorker`s) to nice 19, so compiling yields its core to the path's processes. Linux only
// (/proc); the threads come and go, so they are looked for every 100 ms. Off by default: the
// bench measures the contenders as they run.
import { readdirSync, readFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

const NICE = 19;

export function jitNiceFor(who: string): boolean {
  const wanted = (process.env.BENCH_JIT_NICE ?? "").split(",");
  return wanted.includes("all") || wanted.includes(who);
}

export function lowerJitThreads(): void {
  const scan = () => {
    for (const tid of readdirSync("/proc/self/task")) {
      try {
        const comm = readFileSync(`/proc/self/task/${tid}/comm`, "utf8");
        if (comm.startsWith("JITWorker") && getPriority(Number(tid)) !== NICE)
          setPriority(Number(tid), NICE);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  };
  scan();
  setInterval(scan, 100).unref();
}
