// A page's body read within `maxBytes`, counted after decompression: refused from its
// Content-Length when it says it is too large, else stopped at the first byte too many (the
// connection is closed, not drained). Too large is permanent: the page will not shrink.

import { PermanentError } from "../../errors.ts";

// An uncompressed body that announces its size can be refused before it is downloaded.
export function checkContentLength(response: Response, maxBytes: number, url: string): void {
  if (response.headers.has("content-encoding")) return;
  const length = Number(response.headers.get("content-length") ?? Number.NaN);
  if (length > maxBytes) throw tooLarge(maxBytes, url);
}

/** Reads the body as a stream and stops at `maxBytes`, counted after decompression. */
export async function readBody(
  response: Response,
  maxBytes: number,
  url: string,
): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge(maxBytes, url);
      chunks.push(value);
    }
  } catch (err) {
    // Cancelling closes the connection instead of draining (or inflating) the rest.
    await reader.cancel().catch(() => {});
    throw err;
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function tooLarge(maxBytes: number, url: string): PermanentError {
  return new PermanentError(`page is larger than ${formatBytes(maxBytes)}: ${url}`);
}

/** `10 MiB`, `64 KiB` or `1000 bytes`: limits are usually powers of two, so say them that way. */
export function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
