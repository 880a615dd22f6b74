// Action bodies are small (`{ "url": … }` at most): read at most `max` bytes of one, so a huge
// body, announced or streamed in chunks without a length, is refused without being held.
import { json } from "./api.ts";

/** The body as text, or a 413 response once it passes `max` bytes (the rest is not read). */
export async function readBody(req: Request, max: number): Promise<string | Response> {
  const tooLarge = () => json({ error: `request body over ${max} bytes` }, 413);
  const length = Number(req.headers.get("content-length") ?? 0);
  if (length > max) return tooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    // Counted as it arrives: a chunked body has no length to check first.
    if (size > max) {
      await reader.cancel().catch(() => {});
      return tooLarge();
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString("utf8");
}
