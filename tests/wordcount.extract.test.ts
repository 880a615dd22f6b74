import { describe, expect, test } from "bun:test";
import { countWords } from "../lib/tasks/wordcount/count.ts";
import { extractText } from "../lib/tasks/wordcount/extract.ts";

const fixture = (name: string) => Bun.file(`${import.meta.dir}/fixtures/wordcount/${name}`).text();

// Expected values are what Chromium's `document.body.innerText` gives for each fixture,
// segmented by Bun's Intl.Segmenter (see DESIGN.md, "The word-count task").
describe("extractText on fixtures", () => {
  test.each([
    // [fixture, words, title, lang, a piece of the text]
    ["inline.html", 4, "Inline tags", "en", "foobar unbreakable linked text"],
    [
      "blocks.html",
      11,
      null,
      null,
      "one\ntwo\nthree\nfour\nfive\n\nsix\n\nseven\neight\nnine\nten\neleven",
    ],
    ["table.html", 7, null, null, "Prices\nFruit\tCost\napple\t1\npear\t2"],
    ["lists.html", 6, null, null, "alpha\nbeta\ngamma\ndelta\nterm\ndefinition"],
    ["hidden.html", 3, null, null, "shown\n\nalso shown"],
    ["template-noscript-comments.html", 2, null, null, "visible words"],
    ["entities.html", 5, null, null, "fish\u00a0&\u00a0chips <tag> café ABC"],
    ["pre.html", 7, null, null, "before\n\nline one\n    indented two\n\nthree\n\nafter"],
    ["no-body.html", 3, "Sans corps", "fr", "Bonjour\nle monde"],
    ["fragment.html", 6, null, null, "loose words then a\n\nparagraph here"],
    ["script-style.html", 2, null, null, "real text"],
    ["cjk.html", 9, "中文", "zh", "我喜欢吃苹果。\n\n日本語のテキスト\n\n안녕하세요 세계"],
    ["mixed.html", 8, null, null, "Hello мир 世界 مرحبا 123 don't e-mail"],
    ["cdata.html", 3, null, null, "beforeafter\n\nkept words"],
    ["empty.html", 0, null, null, ""],
    ["head-text.html", 3, "T", null, "stray textbody text"],
    [
      "scripts.html",
      36,
      null,
      null,
      "Latin words, Кириллица тоже, 中文分词测试, 日本語の文章です, 한국어 문장\n\n" +
        "العربية من اليمين, עברית גם, ภาษาไทยไม่มีช่องว่าง, हिन्दी भाषा\n\n" +
        "Emoji 🎉 are not words 👍🏽 but text around them is: ok🙂ok",
    ],
    [
      "forms.html",
      19,
      null,
      null,
      "Name\nfirst choice\nsecond choice\nSend now\nClosed summary\nOpen summary\n\n" +
        "open content\n\nopen dialog\n\nScore done\n\nAn image",
    ],
    [
      "display.html",
      12,
      null,
      null,
      "block\nspan inlinediv\nonetwo\ncontentsflow\nshown anyway\nvisible\n\nafter hidden\n\n" +
        "lastwins wins",
    ],
  ] as const)("%s has %d words", async (name, words, title, lang, text) => {
    const extracted = extractText(await fixture(name));
    expect(extracted.text).toBe(text);
    expect(extracted.title).toBe(title);
    expect(extracted.lang).toBe(lang);
    expect(countWords(extracted.text).words).toBe(words);
  });
});

test("plain.txt: a text/plain page is counted as it is, tags and entities included", async () => {
  // The task does not parse text/plain (see index.ts); a browser shows it verbatim.
  expect(countWords(await fixture("plain.txt")).words).toBe(20);
});

describe("extractText on snippets", () => {
  test.each([
    ["foo<b>bar</b>", "foobar"],
    ["foo <b>bar</b>", "foo bar"],
    ["foo<br>bar", "foo\nbar"],
    ["a<br><br>b", "a\n\nb"],
    ["<div>a</div><div>b</div>", "a\nb"],
    ["<div>  a  </div>\n\n   <div>  b </div>", "a\nb"],
    ["<span>a</span>\n<span>b</span>", "a b"],
    ["x<script>y</script>z", "xz"],
    ["x<!-- y -->z", "xz"],
    ["<p>a<p>b", "a\n\nb"],
    ["<DIV STYLE='display:none'>gone</DIV>kept", "kept"],
    ["<div hidden><p>gone</p></div>kept", "kept"],
    ["<div style='display: block'>kept</div>", "kept"],
    ["<div style='visibility: hidden'>gone</div>", ""],
    ["<p>  tab\tand\nnewline  </p>", "tab and newline"],
    ["<pre>a\tkept  as is\n b</pre>", "a\tkept  as is\n b"],
    ["plain text, no tags", "plain text, no tags"],
    ["<details><summary>s</summary>closed</details>", "s"],
    ["<details open><summary>s</summary>open</details>", "s\nopen"],
    ["<textarea>typed</textarea>x", "x"],
    ["<dialog>shut</dialog><dialog open>open</dialog>", "open"],
    ["<span style='display:block'>a</span>b", "a\nb"],
    ["<div style='display:inline-block'>a</div>b", "ab"],
    ["<div style='visibility:hidden'>a<b style='visibility:visible'>b</b></div>", "b"],
    ["<table><tr><td>a<td>b</tr></table>", "a\tb"],
    ["<td>loose</td>cell", "loosecell"],
    ["a<svg><text>b</text></svg>c", "a\nb\nc"],
    ["<p>&nbsp;</p>", "\u00a0"],
    ["", ""],
  ])("%j renders as %j", (html, text) => {
    expect(extractText(html).text).toBe(text);
  });

  test("upper-case LANG and a title with extra whitespace", () => {
    const page =
      "<HTML LANG=de><HEAD><TITLE>\n  Ein   Titel \n</TITLE></HEAD><BODY>x</BODY></HTML>";
    expect(extractText(page)).toEqual({ text: "x", title: "Ein Titel", lang: "de" });
  });

  test("a deeply nested page does not overflow the stack", () => {
    const depth = 50_000;
    const page = `${"<div>".repeat(depth)}deep words${"</div>".repeat(depth)}`;
    expect(extractText(page).text).toBe("deep words");
  });

  test("a large page is extracted in one pass", () => {
    const page = `<body>${"<p>lorem <b>ip</b>sum dolor</p>".repeat(20_000)}</body>`;
    expect(countWords(extractText(page).text).words).toBe(60_000);
  });
});
