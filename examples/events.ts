// Reacting to jobs without polling: Queue.events() yields one event per job as workers end
// them, each with a cursor to resume from (README, "Reacting to jobs (events)").
import { defineTask, PermanentError, Queue, Worker } from "../lib/index.ts";

const thumbnail = defineTask({
  name: "thumbnail",
  async run(payload: { width: number }) {
    if (payload.width <= 0) throw new PermanentError("width must be positive");
    return { width: Math.round(payload.width / 4) };
  },
});

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const queue = await Queue.connect({ redisUrl, queue: "thumbnails" });
const worker = await Worker.start({ redisUrl, queue: "thumbnails", tasks: [thumbnail] });

const events = queue.events(); // from now on
let cursor = await events.cursor(); // a service would save it, and each event's after handling it
await queue.enqueueMany([640, 0, 1024].map((width) => ({ task: thumbnail, payload: { width } })));
const seen: Record<string, number> = {};
for await (const e of events) {
  seen[e.type] = (seen[e.type] ?? 0) + 1;
  cursor = e.cursor;
  if (e.type === "finished" || e.type === "failed") {
    if ((seen.finished ?? 0) + (seen.failed ?? 0) === 3) break; // closes its connection
  }
}
console.log(`finished ${seen.finished}, failed ${seen.failed}`);

// Later (another process, after a restart): resume right after the last event handled.
await queue.enqueue(thumbnail, { width: 320 });
for await (const e of queue.events({ from: cursor })) {
  console.log(`resumed after the cursor: ${e.type}`);
  break;
}

await worker.stop();
await queue.close();
