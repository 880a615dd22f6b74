// The page's DOM helpers keep hostile strings inert: a table of strings that would be markup
// if inserted as HTML, rendered through the same helpers the page uses, in linkedom's DOM.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseHTML } from "linkedom";

const HOSTILE = [
  "<script>window.__pwned = 1</script>",
  "<img src=x onerror=alert(1)>",
  "</td></tr><tr><td>injected",
  `"quoted" & 'single' <b>bold</b>`,
  "javascript:alert(1)",
];

let dom: typeof import("../lib/dashboard/client/dom.ts");
let document: Document;

beforeAll(async () => {
  const page = parseHTML(
    "<html><body><table id='t'><thead><tr><th>a</th><th>b</th></tr></thead><tbody></tbody></table><p id='message'></p></body></html>",
  );
  document = page.document as unknown as Document;
  Object.assign(globalThis, { document });
  dom = await import("../lib/dashboard/client/dom.ts");
});

// Test files share one process: the global document must not outlive this file.
afterAll(() => {
  Reflect.deleteProperty(globalThis, "document");
});

describe("page DOM helpers", () => {
  test.each(HOSTILE)("a table cell shows %p as text", (value) => {
    dom.fill("t", [[dom.text(value), dom.jobLink(value)]], "none");
    const rows = document.querySelectorAll("#t tbody tr");
    expect(rows).toHaveLength(1);
    const cells = rows[0]!.querySelectorAll("td");
    expect(cells).toHaveLength(2);
    expect(cells[0]!.textContent).toBe(value);
    expect(document.querySelectorAll("#t tbody script, #t tbody img, #t tbody b")).toHaveLength(0);
    const link = cells[1]!.querySelector("a")!;
    expect(link.textContent).toBe(value);
    expect(link.getAttribute("href")).toBe(`#/jobs/${encodeURIComponent(value)}`);
  });

  // A name that reads one way and is another (a right-to-left override, what shows nothing)
  // is shown as the CLI shows it: escaped (safeText, the same list), line breaks kept.
  test.each([
    ["invoice\u202efdp.exe", "invoice\\u202efdp.exe"],
    ["send\u3164mail\u00ad", "send\\u3164mail\\xad"],
    ["a\x1b[31mb\u009b", "a\\x1b[31mb\\x9b"],
    ["two\nlines", "two\nlines"],
  ])("a table cell shows %p escaped", (value, shown) => {
    dom.fill("t", [[dom.text(value), dom.jobLink(value)]], "none");
    const cells = document.querySelectorAll("#t tbody td");
    expect(cells[0]!.textContent).toBe(shown);
    expect(cells[1]!.querySelector("a")!.textContent).toBe(shown);
    expect(cells[1]!.querySelector("a")!.getAttribute("href")).toBe(
      `#/jobs/${encodeURIComponent(value)}`,
    );
  });

  test("an empty table says so across every column", () => {
    dom.fill("t", [], "no rows");
    const td = document.querySelector("#t tbody td")!;
    expect(td.textContent).toBe("no rows");
    expect(td.getAttribute("colspan")).toBe("2");
  });
});
