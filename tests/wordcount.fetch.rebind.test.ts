// DNS rebinding: a name that resolves to a public address when checked and to 127.0.0.1 when
// connected to. The word-count fetch must connect to the address it checked, so the server on
// 127.0.0.1 (the "victim", on the URL's port) must never see a request, whether the name is
// the URL's or a redirect's. The answers come from a DNS responder of the test's own, reached
// through the task's dnsServers option (or its lookup option), never through /etc/resolv.conf.
// The name is "localhost" so that anything resolving it a second time through the system
// resolver (as fetch(url) does) gets 127.0.0.1, as a rebinding attacker's second answer would.

import { afterEach, beforeEach, expect, test } from "bun:test";
import { Resolver } from "node:dns/promises";
import { fetchPage } from "../lib/tasks/wordcount/fetch.ts";
import type { LookupFn } from "../lib/tasks/wordcount/guard.ts";
import { createWordCountTask } from "../lib/tasks/wordcount/index.ts";
import type { TaskContext } from "../lib/types.ts";
import { type DnsResponder, startDnsResponder } from "./fixtures/dns.ts";

const PUBLIC = "93.184.216.34";

interface Logged {
  server: ReturnType<typeof Bun.serve>;
  requests: { path: string; host: string | null }[];
  route: (path: string) => Response;
}

function logged(hostname: string, port: number, route: (path: string) => Response): Logged {
  const requests: Logged["requests"] = [];
  const server = Bun.serve({
    hostname,
    port,
    fetch(request) {
      const path = new URL(request.url).pathname;
      requests.push({ path, host: request.headers.get("host") });
      return route(path);
    },
  });
  return { server, requests, route };
}

let victim: Logged;
/** On 127.0.0.2 and the victim's port: the address a test lets through with allowAddresses. */
let decoy: Logged;
let dns: DnsResponder | undefined;

beforeEach(() => {
  const page = () =>
    new Response("<p>words from the decoy</p>", { headers: { "content-type": "text/html" } });
  decoy = logged("127.0.0.2", 0, (path) =>
    path === "/hop"
      ? Response.redirect(`http://localhost:${decoy.server.port}/secret`, 302)
      : page(),
  );
  // The victim takes the decoy's port on 127.0.0.1; if something else holds it, start over.
  for (let tries = 1; ; tries += 1) {
    try {
      victim = logged("127.0.0.1", Number(decoy.server.port), () => new Response("<p>secret</p>"));
      return;
    } catch (err) {
      decoy.server.stop(true);
      if (tries === 5) throw err;
      decoy = logged("127.0.0.2", 0, decoy.route);
    }
  }
});

afterEach(() => {
  victim.server.stop(true);
  decoy.server.stop(true);
  dns?.stop();
  dns = undefined;
});

/** Answers `first` to the first A question about a name, 127.0.0.1 to every later one. */
const rebinding = (first: string) =>
  startDnsResponder((_name, n) => (n === 1 ? first : "127.0.0.1"));

const url = (path: string) => `http://localhost:${victim.server.port}${path}`;

/** Settles the fetch: a public address may answer anything, or nothing (no network here). */
const settle = (promise: Promise<unknown>) =>
  promise.then(
    () => "fetched",
    (err: Error) => err.message,
  );

test("the task, given dnsServers, never connects to the rebound address", async () => {
  dns = await rebinding(PUBLIC);
  const task = createWordCountTask({ dnsServers: [dns.server], timeoutMs: 1000 });
  const job = { id: "rebind", task: task.name, attempt: 1, maxAttempts: 1, fence: "1" };
  await settle(task.run({ url: url("/secret") }, new AbortController().signal as TaskContext, job));
  expect(dns.asked("localhost")).toBe(1);
  expect(victim.requests).toEqual([]);
});

test("a lookup function is asked once too, and its answer is where the request goes", async () => {
  dns = await rebinding(PUBLIC);
  const resolver = new Resolver();
  resolver.setServers([dns.server]);
  const lookup: LookupFn = async (name) =>
    (await resolver.resolve4(name)).map((address) => ({ address }));
  await settle(fetchPage(url("/secret"), { lookup, timeoutMs: 1000 }));
  expect(dns.asked("localhost")).toBe(1);
  expect(victim.requests).toEqual([]);
});

test("the request reaches the checked address, with the URL's Host header", async () => {
  dns = await rebinding("127.0.0.2");
  const page = await fetchPage(url("/page"), {
    dnsServers: [dns.server],
    allowAddresses: ["127.0.0.2"],
  });
  expect(new TextDecoder().decode(page.body)).toBe("<p>words from the decoy</p>");
  expect(decoy.requests).toEqual([{ path: "/page", host: `localhost:${decoy.server.port}` }]);
  expect(victim.requests).toEqual([]);
});

test("a redirect to a rebinding name is resolved once and connected to as checked", async () => {
  dns = await rebinding(PUBLIC);
  const first = `http://127.0.0.2:${decoy.server.port}/hop`;
  await settle(
    fetchPage(first, { dnsServers: [dns.server], allowAddresses: ["127.0.0.2"], timeoutMs: 1000 }),
  );
  expect(decoy.requests.map((r) => r.path)).toEqual(["/hop"]);
  expect(dns.asked("localhost")).toBe(1);
  expect(victim.requests).toEqual([]);
});

test("a redirect to a name whose only answer is loopback is refused", async () => {
  dns = await rebinding("127.0.0.1");
  const first = `http://127.0.0.2:${decoy.server.port}/hop`;
  const outcome = await settle(
    fetchPage(first, { dnsServers: [dns.server], allowAddresses: ["127.0.0.2"] }),
  );
  expect(outcome).toBe(
    `refused to fetch ${url("/secret")}: localhost resolves to 127.0.0.1, a loopback address ` +
      "(start the worker with --allow-private to allow it)",
  );
  expect(victim.requests).toEqual([]);
});

test("an address that refuses the connection is passed over for the next checked one", async () => {
  const lookup: LookupFn = async () => [{ address: "127.0.0.3" }, { address: "127.0.0.2" }];
  const page = await fetchPage(url("/page"), { lookup, allowAddresses: ["127.0.0.2/31"] });
  expect(page.status).toBe(200);
  expect(decoy.requests.map((r) => r.path)).toEqual(["/page"]);
  expect(victim.requests).toEqual([]);
});
