import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ConfigError, InputError, InvalidUrlError, PermanentError } from "../lib/errors.ts";
import {
  createWordCountTask,
  WORDCOUNT_TASK,
  wordCountDefaults,
} from "../lib/tasks/wordcount/index.ts";
import type { JobInfo, TaskContext } from "../lib/types.ts";

const job: JobInfo = { id: "1-0", task: WORDCOUNT_TASK, attempt: 1, maxAttempts: 3, fence: "1" };
// A plain signal stands for the context: the word count uses nothing else of it.
const never = new AbortController().signal as TaskContext;

const PAGE = `<!doctype html><html lang="en"><head><title>Word  count</title>
<script>ignored words</script></head>
<body><h1>Counting</h1><p>The quick <b>br</b>own fox. The lazy dog.</p></body></html>`;
// "Привет мир" in windows-1251: the charset comes from the header only.
const CYRILLIC = new Uint8Array([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2, 0x20, 0xec, 0xe8, 0xf0]);

let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname === "/moved") return Response.redirect("/page", 301);
      if (pathname === "/page")
        return new Response(PAGE, { headers: { "content-type": "text/html" } });
      if (pathname === "/notes.txt") {
        return new Response("a <b>not a tag</b> &amp; five", {
          headers: { "content-type": "text/plain" },
        });
      }
      return new Response(CYRILLIC, {
        headers: { "content-type": "text/html; charset=windows-1251" },
      });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(() => {
  server.stop(true);
});

describe("validate", () => {
  const task = createWordCountTask();

  test("normalises the URL", () => {
    expect(task.name).toBe("wordcount");
    expect(task.validate?.({ url: " www.example.org#top " })).toEqual({
      url: "https://www.example.org/",
    });
  });

  test.each([null, "https://example.org/", 42, {}, { url: 7 }])(
    "refuses the payload %j",
    (payload) => {
      expect(() => task.validate?.(payload)).toThrow(InputError);
    },
  );

  test("refuses a bad URL with InvalidUrlError", () => {
    expect(() => task.validate?.({ url: "ftp://example.org/" })).toThrow(InvalidUrlError);
  });
});

describe("run", () => {
  const task = createWordCountTask({ allowPrivate: true, timeoutMs: 5000 });

  test("counts the words of an HTML page after a redirect", async () => {
    const result = await task.run({ url: `${base}/moved` }, never, job);
    expect(result).toMatchObject({
      words: 8,
      title: "Word count",
      lang: "en",
      url: `${base}/moved`,
      finalUrl: `${base}/page`,
      status: 200,
      contentType: "text/html",
      bytes: new TextEncoder().encode(PAGE).byteLength,
    });
    expect(result.topWords.slice(0, 3)).toEqual([
      { word: "the", count: 2 },
      { word: "brown", count: 1 },
      { word: "counting", count: 1 },
    ]);
    expect(result.timings.fetchMs).toBeGreaterThanOrEqual(0);
    expect(result.timings.parseMs).toBeGreaterThanOrEqual(0);
  });

  test("plain text is counted as is, without HTML parsing", async () => {
    const result = await task.run({ url: `${base}/notes.txt` }, never, job);
    expect(result).toMatchObject({ words: 8, title: null, lang: null, contentType: "text/plain" });
  });

  test("decodes with the charset from the header", async () => {
    const result = await task.run({ url: `${base}/cyrillic` }, never, job);
    expect(result.words).toBe(2);
    expect(result.topWords).toEqual([
      { word: "мир", count: 1 },
      { word: "привет", count: 1 },
    ]);
  });

  test("a bad URL that skipped validate fails for good", async () => {
    const run = task.run({ url: "javascript:alert(1)" }, never, job);
    await expect(run).rejects.toBeInstanceOf(PermanentError);
    await expect(run).rejects.toThrow('scheme "javascript" is not allowed');
  });

  test("without allowPrivate, loopback is refused", async () => {
    const run = createWordCountTask().run({ url: `${base}/page` }, never, job);
    await expect(run).rejects.toThrow("127.0.0.1 is a loopback address");
  });
});

describe("options", () => {
  test("defaults carry their units in their names", () => {
    expect(wordCountDefaults).toEqual({
      allowPrivate: false,
      fetchTimeoutMs: 30_000,
      maxBodyBytes: 10 * 1024 * 1024,
      maxRedirects: 5,
    });
  });

  test.each([{ timeoutMs: 0 }, { maxBytes: -1 }, { maxRedirects: 1.5 }, { timeoutMs: Number.NaN }])(
    "refuses %j at creation",
    (options) => {
      expect(() => createWordCountTask(options)).toThrow(ConfigError);
    },
  );

  test("zero redirects is allowed", () => {
    expect(createWordCountTask({ maxRedirects: 0 }).name).toBe(WORDCOUNT_TASK);
  });
});
