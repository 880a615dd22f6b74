// `--- @include <name>` in a Lua script: the helper lib/engine/lua/include/<name>.lua, pasted
// in place of the first such line (a helper may include others; each goes in once per script).
// Redis numbers the lines of the text it was sent, so the expansion keeps a line map: which
// file and line each line of the sent text came from, to point an error reply at the source.
import alive from "./lua/include/alive.lua" with { type: "text" };
import canceled from "./lua/include/canceled.lua" with { type: "text" };
import clip from "./lua/include/clip.lua" with { type: "text" };
import clock from "./lua/include/clock.lua" with { type: "text" };
import counters from "./lua/include/counters.lua" with { type: "text" };
import dead from "./lua/include/dead.lua" with { type: "text" };
import dependents from "./lua/include/dependents.lua" with { type: "text" };
import entries from "./lua/include/entries.lua" with { type: "text" };
import failed from "./lua/include/failed.lua" with { type: "text" };
import fields from "./lua/include/fields.lua" with { type: "text" };
import handover from "./lua/include/handover.lua" with { type: "text" };
import history from "./lua/include/history.lua" with { type: "text" };
import ids from "./lua/include/ids.lua" with { type: "text" };
import memory from "./lua/include/memory.lua" with { type: "text" };
import minutes from "./lua/include/minutes.lua" with { type: "text" };
import place from "./lua/include/place.lua" with { type: "text" };
import rates from "./lua/include/rates.lua" with { type: "text" };
import readd from "./lua/include/readd.lua" with { type: "text" };
import wrongtype from "./lua/include/wrongtype.lua" with { type: "text" };

/** The helpers a script may include, by name (imported as text: `bun build` embeds them). */
export const includes: Readonly<Record<string, string>> = {
  alive,
  canceled,
  clip,
  clock,
  counters,
  dead,
  dependents,
  entries,
  failed,
  fields,
  handover,
  history,
  ids,
  memory,
  minutes,
  place,
  rates,
  readd,
  wrongtype,
};

/** Where one line of an expanded script came from. */
export interface SourceLine {
  file: string;
  line: number;
}

export interface Expanded {
  text: string;
  /** lines[i] is where line i + 1 of `text` came from. */
  lines: SourceLine[];
}

const INCLUDE = /^--- @include\s+(\S+)\s*$/;

/**
 * Expands the includes of `source` (named `file` in the line map). Throws on an include with no
 * helper and on a cycle, so a bad script fails when it is made (its first use), before it is sent.
 */
export function expandIncludes(
  file: string,
  source: string,
  helpers: Readonly<Record<string, string>> = includes,
): Expanded {
  const out: Expanded = { text: "", lines: [] };
  const text: string[] = [];
  const done = new Set<string>();
  const paste = (name: string, src: string, path: string[]) => {
    src.split("\n").forEach((line, i) => {
      text.push(line);
      out.lines.push({ file: name, line: i + 1 });
      const inc = INCLUDE.exec(line)?.[1];
      if (inc === undefined || done.has(inc)) return;
      if (path.includes(inc)) {
        throw new Error(`${name}:${i + 1}: include cycle ${[...path, inc].join(" -> ")}`);
      }
      const helper = helpers[inc];
      if (helper === undefined) {
        throw new Error(
          `${name}:${i + 1}: no include "${inc}" (lib/engine/lua/include/${inc}.lua)`,
        );
      }
      paste(`include/${inc}.lua`, helper.replace(/\n$/, ""), [...path, inc]);
      done.add(inc);
    });
  };
  paste(file, source, []);
  out.text = text.join("\n");
  return out;
}

/**
 * `message` with the source of each `user_script:<n>` it names added (Redis writes it as
 * `user_script:<n>:` for a Lua error and `@user_script:<n>.` for a refused command), or as it is
 * when it names none.
 */
export function mapLines(message: string, lines: readonly SourceLine[]): string {
  const at = new Set<string>();
  for (const m of message.matchAll(/user_script:(\d+)/g)) {
    const src = lines[Number(m[1]) - 1];
    if (src) at.add(`${src.file}:${src.line}`);
  }
  return at.size === 0 ? message : `${message} (at ${[...at].join(", ")})`;
}
