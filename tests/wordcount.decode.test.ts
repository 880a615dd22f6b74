import { describe, expect, test } from "bun:test";
import {
  charsetFromContentType,
  decodeBody,
  known,
  metaCharset,
  sniffType,
} from "../lib/tasks/wordcount/decode.ts";

const ascii = (text: string) => [...new TextEncoder().encode(text)];
const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((part) => (typeof part === "string" ? ascii(part) : part)));

// Legacy encodings, written as bytes so the test does not depend on an encoder Bun lacks.
const SHIFT_JIS_KONNICHIWA = [0x82, 0xb1, 0x82, 0xf1, 0x82, 0xc9, 0x82, 0xbf, 0x82, 0xcd];
const GB18030_NIHAO = [0xc4, 0xe3, 0xba, 0xc3];
// Characters outside GBK take four bytes in gb18030 (the part a GBK-only decoder gets wrong):
// U+00B8 ¸ and U+1F600 😀.
const GB18030_FOUR_BYTE = [0x81, 0x30, 0x86, 0x30, 0x94, 0x39, 0xfc, 0x36];
const LATIN1_CAFE = [0x63, 0x61, 0x66, 0xe9];
const WINDOWS_1251_PRIVET = [0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2];

describe("decodeBody", () => {
  test.each([
    [
      "shift_jis from the header",
      bytes(SHIFT_JIS_KONNICHIWA),
      "Shift_JIS",
      "こんにちは",
      "shift_jis",
    ],
    ["gb18030 from the header", bytes(GB18030_NIHAO), "gb18030", "你好", "gb18030"],
    ["gb18030 four-byte forms", bytes(GB18030_FOUR_BYTE), "GB18030", "¸😀", "gb18030"],
    ["iso-8859-1 from the header", bytes(LATIN1_CAFE), "iso-8859-1", "café", "windows-1252"],
    // WHATWG maps iso-8859-1 to windows-1252, as browsers do: 0x80 is the euro sign.
    ["iso-8859-1 is windows-1252", bytes([0x80]), "ISO-8859-1", "€", "windows-1252"],
    [
      "windows-1251 from the header",
      bytes(WINDOWS_1251_PRIVET),
      "windows-1251",
      "Привет",
      "windows-1251",
    ],
    ["UTF-8 without any hint", bytes("h\u00e9llo"), null, "héllo", "utf-8"],
    ["UTF-8 BOM, stripped", bytes([0xef, 0xbb, 0xbf], "hi"), null, "hi", "utf-8"],
    ["UTF-16LE BOM", bytes([0xff, 0xfe, 0x68, 0x00, 0x69, 0x00]), null, "hi", "utf-16le"],
    ["UTF-16BE BOM", bytes([0xfe, 0xff, 0x00, 0x68, 0x00, 0x69]), null, "hi", "utf-16be"],
    [
      "BOM wins over the header",
      bytes([0xef, 0xbb, 0xbf, 0x63, 0xc3, 0xa9]),
      "iso-8859-1",
      "cé",
      "utf-8",
    ],
    ["unknown header label falls back", bytes("ok"), "x-no-such-charset", "ok", "utf-8"],
    [
      "invalid UTF-8 is replaced, not thrown",
      bytes([0x61, 0xff, 0x62]),
      "utf-8",
      "a\ufffdb",
      "utf-8",
    ],
    ["truncated UTF-8 at the end", bytes([0x61, 0xe6, 0x97]), null, "a\ufffd", "utf-8"],
  ])("%s", (_name, body, header, expected, encoding) => {
    expect(decodeBody(body, header)).toEqual({ text: expected, encoding });
  });

  test("<meta charset> is used when the header says nothing", () => {
    const page = bytes('<html><head><meta charset="windows-1251"></head><p>', WINDOWS_1251_PRIVET);
    const { text, encoding } = decodeBody(page, null);
    expect(encoding).toBe("windows-1251");
    expect(text).toEndWith("<p>Привет");
  });

  test('<meta http-equiv="Content-Type"> is used too', () => {
    const page = bytes(
      '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><p>',
      SHIFT_JIS_KONNICHIWA,
    );
    expect(decodeBody(page, null).text).toEndWith("<p>こんにちは");
  });

  test("the header wins over <meta>", () => {
    const page = bytes('<meta charset="shift_jis">', LATIN1_CAFE);
    expect(decodeBody(page, "iso-8859-1").text).toEndWith("café");
  });

  // Where Chromium's prescan looks (checked against it in wordcount.browser.test.ts): always in
  // the first 1024 bytes, and past them for as long as only head tags have been seen.
  test.each([
    ["after 1024 bytes of whitespace", " ".repeat(1024), "windows-1251"],
    ["after a long <title>", `<title>${"t".repeat(2000)}</title>`, "windows-1251"],
    ["after a long inline script", `<script>${"x();".repeat(500)}</script>`, "windows-1251"],
    ["after 1024 bytes of body text", `<p>${"x".repeat(1100)}</p>`, "utf-8"],
    ["after a short body element", "<p>x</p>", "windows-1251"],
    ["after </head> past 1024 bytes", `<head>${"<link>".repeat(200)}</head>`, "utf-8"],
  ])("a <meta> %s -> %s", (_name, before, encoding) => {
    const page = bytes(before, '<meta charset="windows-1251">', WINDOWS_1251_PRIVET);
    expect(decodeBody(page, null).encoding).toBe(encoding);
  });

  test("a <meta> in a comment or inside a script is not a declaration", () => {
    const commented = bytes('<!-- <meta charset="windows-1251"> -->', WINDOWS_1251_PRIVET);
    expect(decodeBody(commented, null).encoding).toBe("utf-8");
    const scripted = bytes('<script>"<meta charset=windows-1251>"</script>', WINDOWS_1251_PRIVET);
    expect(decodeBody(scripted, null).encoding).toBe("utf-8");
  });
});

describe("metaCharset", () => {
  test.each([
    ['<meta charset="utf-8">', "utf-8"],
    ["<META CHARSET=ISO-8859-1>", "windows-1252"],
    ["<meta charset='gbk'>", "gbk"],
    ['<meta name="viewport" content="width=device-width"><meta charset="koi8-r">', "koi8-r"],
    // A page cannot declare UTF-16 in ASCII markup; the HTML standard reads it as UTF-8.
    ['<meta charset="utf-16">', "utf-8"],
    ['<meta charset="x-user-defined">', "windows-1252"],
    ['<meta charset="nonsense">', null],
    ["<p>charset=shift_jis</p>", null],
    ["", null],
  ])("%j -> %s", (head, expected) => {
    expect(metaCharset(bytes(head))).toBe(expected);
  });
});

describe("charsetFromContentType and known", () => {
  test.each([
    ["text/html; charset=UTF-8", "UTF-8"],
    ['text/html;charset="iso-8859-1"', "iso-8859-1"],
    ["text/html; foo=bar; Charset=Shift_JIS", "Shift_JIS"],
    ["text/html", null],
    ['text/html; charset=""', null],
    [null, null],
  ])("%j -> %s", (header, expected) => {
    expect(charsetFromContentType(header)).toBe(expected);
  });

  test.each([
    ["latin1", "windows-1252"],
    ["SJIS", "shift_jis"],
    [" utf8 ", "utf-8"],
    ["bogus", null],
    ["", null],
  ])("known(%j) -> %s", (label, expected) => {
    expect(known(label)).toBe(expected);
  });
});

describe("sniffType", () => {
  test.each<[string, "text/html" | "text/plain"]>([
    ["<!DOCTYPE html><p>x", "text/html"],
    ["  \n<html>", "text/html"],
    ["<p>hi</p>", "text/html"],
    ["<!-- c --><div>", "text/html"],
    ["just some words", "text/plain"],
    ["1 < 2", "text/plain"],
    ["", "text/plain"],
  ])("%j -> %s", (start, expected) => {
    expect(sniffType(bytes(start))).toBe(expected);
  });

  test("UTF-16 text with a BOM is text despite its zero bytes", () => {
    expect(sniffType(bytes([0xff, 0xfe, 0x3c, 0x00, 0x70, 0x00, 0x3e, 0x00]))).toBe("text/html");
    expect(sniffType(bytes([0xff, 0xfe, 0x68, 0x00, 0x69, 0x00]))).toBe("text/plain");
  });

  test("binary bytes are refused", () => {
    const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    expect(sniffType(bytes(png))).toBeNull();
    expect(sniffType(bytes("abc", [0x00], "def"))).toBeNull();
  });
});
