// The fetch connects to the checked address, not the URL's host name (see the rebinding
// test), yet TLS must still be about the name: SNI names it and the certificate is checked
// against it. The server's certificate (from a test CA) is for courier.test alone, no IP.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { makeCerts, opensslMissing, type TestCerts } from "./fixtures/tls-certs.ts";
import { runProcess } from "./helpers.ts";

const skip = opensslMissing();
if (skip) console.log(`skipping TLS fetch tests: ${skip}`);

let certs: TestCerts;
let server: Server;
let port: number;
const seen: { servername: unknown; host: string | undefined }[] = [];

beforeAll(async () => {
  if (skip) return;
  certs = makeCerts(["DNS:courier.test"]);
  server = createServer(
    { key: readFileSync(certs.key), cert: readFileSync(certs.cert) },
    (request, response) => {
      const { servername } = request.socket as TLSSocket;
      seen.push({ servername, host: request.headers.host });
      response.setHeader("content-type", "text/html");
      response.end("<p>words over tls</p>");
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(() => {
  server?.close();
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

async function fetchAs(name: string): Promise<{ body?: string; error?: string }> {
  const url = `https://${name}:${port}/page`;
  const { stdout } = await runProcess(
    [process.execPath, "tests/fixtures/tls-fetch.ts", url, "127.0.0.1"],
    { env: { ...(process.env as Record<string, string>), NODE_EXTRA_CA_CERTS: certs.ca } },
  );
  return JSON.parse(stdout);
}

describe.skipIf(skip !== null)("https to a pinned address", () => {
  test("sends the URL's name as SNI and Host, and checks the certificate against it", async () => {
    expect(await fetchAs("courier.test")).toEqual({ body: "<p>words over tls</p>" });
    expect(seen).toEqual([{ servername: "courier.test", host: `courier.test:${port}` }]);
  });

  test("a certificate for another name is refused before any request", async () => {
    seen.length = 0;
    expect(await fetchAs("other.test")).toEqual({
      error:
        `could not fetch https://other.test:${port}/page: connection failed ` +
        "(the server's TLS certificate is for another name, ERR_TLS_CERT_ALTNAME_INVALID)",
    });
    expect(seen).toEqual([]);
  });
});
