#!/usr/bin/env bun
// Builds bench/corpus/pages/ from Debian documentation packages, and bench/corpus/SOURCES.md
// saying where each page came from. Run once after installing the packages:
//   apt-get install -y --no-install-recommends <every package in SOURCES.md>
//   bun scripts/corpus/collect.ts
// Pages are copied byte for byte. Legacy-charset pages are re-encoded copies whose only edits
// are the charset declarations; a character the target charset lacks becomes a numeric
// character reference, which a browser decodes back to the same character.

import { mkdir, rm } from "node:fs/promises";
import { LEGACY, type LegacyPage, LICENSES, PAGES, type SourcePage } from "./pages.ts";

const CORPUS = `${import.meta.dir}/../../bench/corpus`;
const OUT = `${CORPUS}/pages`;

await rm(OUT, { recursive: true, force: true });
await mkdir(OUT, { recursive: true });
const versions = new Map<string, string>();
for (const page of PAGES) {
  await Bun.write(`${OUT}/${page.id}.html`, Bun.file(page.path));
  versions.set(page.pkg, versions.get(page.pkg) ?? (await packageVersion(page.pkg)));
}
for (const page of LEGACY) await Bun.write(`${OUT}/${page.id}.html`, await reencode(page));
await Bun.write(`${CORPUS}/SOURCES.md`, sources(versions));
console.log(`wrote ${PAGES.length + LEGACY.length} pages to ${OUT}`);

async function packageVersion(pkg: string): Promise<string> {
  // dpkg-query's own field syntax, not a template placeholder.
  const format = "-f=$" + "{Version}";
  const proc = Bun.spawnSync(["dpkg-query", "-W", format, pkg]);
  if (proc.exitCode !== 0) throw new Error(`${pkg} is not installed: apt-get install -y ${pkg}`);
  return proc.stdout.toString();
}

async function reencode(page: LegacyPage): Promise<Uint8Array> {
  const html = await Bun.file(`${OUT}/${page.from}.html`).text();
  const relabelled = relabel(html, page.charset);
  // Python's codecs know every legacy encoding and can write what they lack as &#NNNN;.
  const script =
    "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode('utf-8')" +
    ".encode(sys.argv[1], 'xmlcharrefreplace'))";
  const proc = Bun.spawnSync(["python3", "-c", script, page.codec], {
    stdin: Buffer.from(relabelled),
  });
  if (proc.exitCode !== 0) throw new Error(`re-encoding ${page.id}: ${proc.stderr.toString()}`);
  const head = proc.stdout.subarray(0, 1024).toString("latin1");
  // Decoders only look for <meta charset> in the first 1024 bytes (the HTML prescan).
  if (!head.includes(page.charset)) throw new Error(`${page.id}: no charset in 1024 bytes`);
  return proc.stdout;
}

/** Rewrites every charset declaration (`<meta>`, and `<?xml encoding>`) to `charset`. */
export function relabel(html: string, charset: string): string {
  let metas = 0;
  const out = html
    .replace(/<\?xml[^>]*>/i, (decl) => decl.replace(/encoding="[^"]*"/i, `encoding="${charset}"`))
    .replace(/<meta\b[^>]*>/gi, (tag) =>
      tag.replace(/charset\s*=\s*(["']?)[\w.:-]+/i, (_, quote: string) => {
        metas += 1;
        return `charset=${quote}${charset}`;
      }),
    );
  if (metas > 0) return out;
  return out.replace(/<head\b[^>]*>/i, (open) => `${open}<meta charset="${charset}">`);
}

function sources(versions: ReadonlyMap<string, string>): string {
  const rows = PAGES.map(
    (p: SourcePage) =>
      `| ${p.id} | ${p.lang} | ${p.pkg} ${versions.get(p.pkg)} | ${p.path} | ${license(p.pkg)} |`,
  );
  const legacy = LEGACY.map((p) => `| ${p.id} | ${p.from} | ${p.charset} |`);
  return [
    "# Text-extraction corpus: sources",
    "",
    "Real pages that nobody on this project wrote, copied byte for byte from HTML documentation",
    "that Debian 12 packages ship, by `scripts/corpus/collect.ts` (the list is in",
    "`scripts/corpus/pages.ts`). `reference.json` holds the word count of each page as Chromium",
    "renders it, measured by `scripts/corpus/reference.ts`. Each page keeps its package's",
    "license, named below; the packages' `/usr/share/doc/<package>/copyright` files have the",
    "full terms and authors.",
    "",
    "| page | lang | package (version) | path | license |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    "## Legacy charsets",
    "",
    "Copies of a page above, re-encoded with Python's codecs and with their `<meta charset>` (and",
    "any `<?xml encoding>`) changed to match. Characters the charset lacks were written as",
    "numeric character references, which a browser decodes to the same characters.",
    "",
    "| page | made from | charset |",
    "|---|---|---|",
    ...legacy,
    "",
  ].join("\n");
}

function license(pkg: string): string {
  const family = Object.keys(LICENSES).find((name) => pkg.startsWith(name));
  return family === undefined ? "see copyright file" : (LICENSES[family] ?? "");
}
