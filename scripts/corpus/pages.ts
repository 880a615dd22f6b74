// The pages of the text-extraction corpus (bench/corpus/): real documentation that Debian
// packages ship, none of it written here. `collect.ts` copies them; `reference.ts` measures them
// in Chromium. Chosen for spread, not size: languages, scripts, generators (DocBook, Sphinx,
// rustdoc, mdBook, Apache's XSLT) and page shapes (prose, tables, code, navigation).

/** One page copied verbatim from an installed Debian package. */
export interface SourcePage {
  /** File name under bench/corpus/pages/, without `.html`. */
  id: string;
  /** The Debian package that ships it (installed with apt-get). */
  pkg: string;
  /** Absolute path of the file the package installs. */
  path: string;
  /** BCP 47 language of the page's text. */
  lang: string;
}

/** A corpus page re-encoded into a legacy charset, its `<meta charset>` changed to match. */
export interface LegacyPage {
  id: string;
  /** The id of the UTF-8 page it is made from. */
  from: string;
  /** The WHATWG label written into `<meta charset>`. */
  charset: string;
  /** Python's codec for that encoding (Shift_JIS on the web is Windows code page 932). */
  codec: string;
}

/** The license each package's copyright file gives for its documentation. */
export const LICENSES: Record<string, string> = {
  "apache2-doc": "Apache-2.0",
  "postgresql-doc-15": "PostgreSQL",
  "sphinx-doc": "BSD-2-clause",
  "rust-doc": "MIT or Apache-2.0",
  "debian-handbook": "GPL-2.0+ or CC-BY-SA-3.0",
  "maint-guide": "GPL-2.0+",
  "developers-reference": "GPL-2",
  "debian-reference": "GPL-2+",
};

const APACHE = "/usr/share/doc/apache2-doc/manual";
const PG = "/usr/share/doc/postgresql-doc-15/html";
const SPHINX = "/usr/share/doc/sphinx-doc/html";
const RUST = "/usr/share/doc/rust-doc/html";
const HANDBOOK = "/usr/share/doc/debian-handbook/html";

// [lang, path under the manual]; the ko pages are EUC-KR as shipped.
const apache: [string, string][] = [
  ["en", "caching.html"],
  ["en", "rewrite/intro.html"],
  ["en", "howto/htaccess.html"],
  ["en", "urlmapping.html"],
  ["en", "misc/security_tips.html"],
  ["en", "mod/mod_alias.html"],
  ["en", "vhosts/examples.html"],
  ["de", "install.html"],
  ["de", "glossary.html"],
  ["de", "configuring.html"],
  ["fr", "logs.html"],
  ["fr", "sections.html"],
  ["fr", "howto/auth.html"],
  ["ja", "howto/cgi.html"],
  ["ja", "logs.html"],
  ["ja", "suexec.html"],
  ["ja", "content-negotiation.html"],
  ["zh-cn", "handler.html"],
  ["zh-cn", "mpm.html"],
  ["zh-cn", "vhosts/index.html"],
  ["zh-cn", "index.html"],
  ["ko", "misc/perf-tuning.html"],
  ["ko", "logs.html"],
  ["es", "howto/htaccess.html"],
  ["es", "install.html"],
  ["ru", "getting-started.html"],
  ["tr", "logs.html"],
  ["tr", "mod/mod_alias.html"],
];

const postgres = [
  "tutorial-join",
  "tutorial-window",
  "sql-select",
  "datatype-numeric",
  "mvcc-intro",
  "indexes-types",
  "functions-string",
  "runtime-config-wal",
  "ddl-constraints",
];

const sphinx = [
  "usage/quickstart",
  "usage/restructuredtext/basics",
  "usage/configuration",
  "faq",
  "glossary",
];

const rust = [
  "book/ch04-01-what-is-ownership",
  "book/ch08-02-strings",
  "reference/expressions",
  "std/option/index",
  "std/index",
];

// [handbook language folder, BCP 47, section]
const handbook: [string, string, string][] = [
  ["en-US", "en", "sect.remote-login"],
  ["en-US", "en", "sect.release-lifecycle"],
  ["en-US", "en", "sect.x509-cert"],
  ["ar-MA", "ar", "sect.apt-get"],
  ["ar-MA", "ar", "sect.remote-login"],
  ["fa-IR", "fa", "sect.apt-get"],
  ["fa-IR", "fa", "sect.user-group-databases"],
  ["zh-CN", "zh-CN", "sect.apt-get"],
  ["zh-CN", "zh-CN", "sect.release-lifecycle"],
  ["zh-TW", "zh-TW", "sect.remote-login"],
  ["ru-RU", "ru", "sect.becoming-package-maintainer"],
  ["ja-JP", "ja", "sect.apt-get"],
];

// [language (package suffix and file name), chapter]
const maintGuide: [string, string][] = [
  ["ja", "start"],
  ["ja", "first"],
  ["zh-cn", "start"],
  ["zh-cn", "modify"],
  ["fr", "start"],
  ["de", "checkit"],
  ["ru", "start"],
  ["ru", "upload"],
  ["es", "build"],
];

const developersReference: [string, string][] = [
  ["ja", "scope"],
  ["ja", "new-maintainer"],
  ["de", "new-maintainer"],
  ["ru", "l10n"],
];

const debianReference: [string, string][] = [
  ["ja", "ch08"],
  ["zh-cn", "ch08"],
  ["zh-cn", "apa"],
];

const slug = (path: string) => path.replace(/\.html$/, "").replace(/[/.]/g, "-");

/** Every source page, in a stable order. */
export const PAGES: SourcePage[] = [
  ...apache.map(([lang, path]) => ({
    id: `apache-${lang}-${slug(path)}`,
    pkg: "apache2-doc",
    path: `${APACHE}/${lang}/${path}`,
    lang,
  })),
  ...postgres.map((name) => ({
    id: `postgresql-en-${name}`,
    pkg: "postgresql-doc-15",
    path: `${PG}/${name}.html`,
    lang: "en",
  })),
  ...sphinx.map((name) => ({
    id: `sphinx-en-${slug(name)}`,
    pkg: "sphinx-doc",
    path: `${SPHINX}/${name}.html`,
    lang: "en",
  })),
  ...rust.map((name) => ({
    id: `rust-en-${slug(name)}`,
    pkg: "rust-doc",
    path: `${RUST}/${name}.html`,
    lang: "en",
  })),
  ...handbook.map(([dir, lang, name]) => ({
    id: `handbook-${dir}-${slug(name)}`,
    pkg: "debian-handbook",
    path: `${HANDBOOK}/${dir}/${name}.html`,
    lang,
  })),
  ...maintGuide.map(([lang, name]) => ({
    id: `maint-guide-${lang}-${name}`,
    pkg: `maint-guide-${lang}`,
    path: `/usr/share/doc/maint-guide-${lang}/html/${name}.${lang}.html`,
    lang,
  })),
  ...developersReference.map(([lang, name]) => ({
    id: `developers-reference-${lang}-${name}`,
    pkg: `developers-reference-${lang}`,
    path: `/usr/share/developers-reference/${lang}/${name}.html`,
    lang,
  })),
  ...debianReference.map(([lang, name]) => ({
    id: `debian-reference-${lang}-${name}`,
    pkg: `debian-reference-${lang}`,
    path: `/usr/share/debian-reference/${name}.${lang}.html`,
    lang,
  })),
];

/** Pages re-encoded to legacy charsets, to test decoding against the browser's. */
export const LEGACY: LegacyPage[] = [
  {
    id: "legacy-shift_jis-maint-guide-ja-start",
    from: "maint-guide-ja-start",
    charset: "Shift_JIS",
    codec: "cp932",
  },
  {
    id: "legacy-shift_jis-apache-ja-logs",
    from: "apache-ja-logs",
    charset: "Shift_JIS",
    codec: "cp932",
  },
  {
    id: "legacy-gb18030-maint-guide-zh-cn-start",
    from: "maint-guide-zh-cn-start",
    charset: "GB18030",
    codec: "gb18030",
  },
  {
    id: "legacy-gb18030-handbook-zh-CN-apt-get",
    from: "handbook-zh-CN-sect-apt-get",
    charset: "GB18030",
    codec: "gb18030",
  },
  {
    id: "legacy-iso-8859-1-maint-guide-fr-start",
    from: "maint-guide-fr-start",
    charset: "ISO-8859-1",
    codec: "latin-1",
  },
  {
    id: "legacy-iso-8859-1-maint-guide-de-checkit",
    from: "maint-guide-de-checkit",
    charset: "ISO-8859-1",
    codec: "latin-1",
  },
  {
    id: "legacy-windows-1251-maint-guide-ru-start",
    from: "maint-guide-ru-start",
    charset: "windows-1251",
    codec: "cp1251",
  },
  {
    id: "legacy-windows-1251-developers-reference-ru-l10n",
    from: "developers-reference-ru-l10n",
    charset: "windows-1251",
    codec: "cp1251",
  },
];
