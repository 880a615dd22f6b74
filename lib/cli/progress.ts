// A progress bar on stderr, drawn only on a terminal (scripts and pipes get nothing).

export function progressBar(out: { isTTY?: boolean; write(s: string): unknown } = process.stderr): {
  update(done: number, total: number): void;
  end(): void;
} {
  let drawn = false;
  return {
    update(done, total) {
      if (!out.isTTY || total <= 1) return;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      out.write(
        `\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total} jobs ended`,
      );
      drawn = true;
    },
    end() {
      if (drawn) out.write("\n");
      drawn = false; // a second end (trigger's read-back began, then its finally) adds nothing
    },
  };
}
