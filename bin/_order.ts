// `worker --order strict|weighted --weights 6,3,1`: how a worker of several queues
// (`--queue high,default,low`) shares its slots between them (lib/worker/order.ts).
import type { ArgsDef } from "citty";
import { QUEUE_ORDERS, type QueueOrder } from "../lib/worker/order.ts";
import { UsageError } from "./_cli.ts";

export const orderArgs = {
  order: {
    type: "string",
    description:
      "With several queues: strict (default: a freed slot goes to the first queue that has jobs; the next ones only when every earlier one is empty) or weighted (each freed slot goes to a queue drawn by --weights among those that have jobs)",
  },
  weights: {
    type: "string",
    description:
      "With --order weighted: one whole number per queue, 1-1000, comma-separated (6,3,1: the first queue gets 60% of the slots while all three have jobs); default all 1",
  },
} as const satisfies ArgsDef;

/** `--order` and `--weights` as worker options (checked against the queue count by the worker). */
export function orderArg(args: Record<string, unknown>): {
  order?: QueueOrder;
  weights?: number[];
} {
  const order = typeof args.order === "string" ? args.order : undefined;
  if (order !== undefined && !(QUEUE_ORDERS as readonly string[]).includes(order)) {
    throw new UsageError(`--order must be strict or weighted, got "${order.slice(0, 20)}"`);
  }
  const text = typeof args.weights === "string" ? args.weights : undefined;
  if (text === undefined) return { order: order as QueueOrder | undefined };
  if (order !== "weighted") throw new UsageError("--weights needs --order weighted");
  if (!/^\d{1,4}(,\d{1,4}){0,15}$/.test(text)) {
    throw new UsageError(
      `--weights must be whole numbers separated by commas, got "${text.slice(0, 40)}"`,
    );
  }
  return { order, weights: text.split(",").map(Number) };
}
