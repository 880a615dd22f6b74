// Honcho-style output: every line a child prints is shown after its process name, padded so the
// `|` columns line up, in a colour per process when a person is watching a terminal.

/** Writes lines on behalf of named processes (`redis.1`, `worker.1`, `system`). */
export interface Output {
  line(name: string, text: string): void;
}

export interface OutputOptions {
  /** Names known up front: the padding width and the colour order come from this list. */
  names: string[];
  /** ANSI colours; only when stdout is a TTY (and NO_COLOR is unset), so logs stay plain. */
  color: boolean;
  /** Where a finished line goes (with its `\n`). Default: stdout. */
  write?: (text: string) => void;
}

// honcho's palette order: cyan, yellow, green, magenta, red, blue.
const COLOURS = [36, 33, 32, 35, 31, 34];

export function createOutput(options: OutputOptions): Output {
  const width = Math.max(0, ...options.names.map((n) => n.length));
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  return {
    line(name, text) {
      const label = `${name.padEnd(width)} |`;
      if (!options.color) return write(`${label} ${text}\n`);
      const index = options.names.indexOf(name);
      const colour = COLOURS[Math.max(index, 0) % COLOURS.length];
      write(`\x1b[${colour}m${label}\x1b[0m ${text}\n`);
    },
  };
}

/** Whether to colour: stdout is a terminal and the user has not asked for no colour. */
export function wantColour(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}
