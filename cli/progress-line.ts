/**
 * How `--wait` shows an operation: on a terminal one line redrawn in place, with a bar, the
 * percent, the bytes and the step; elsewhere (a pipe, a log) one plain line per change.
 */
const BAR_WIDTH = 24;
const MiB = 1024 * 1024;

export interface ProgressView {
  /** The text of a plain line: who, where, status and step. */
  line: string;
  /** Percent done, when the operation knows it. */
  percent: number | null;
  done: number | null;
  total: number | null;
}

export function progressBar(view: ProgressView): string {
  if (view.percent === null) return view.line;
  const percent = Math.max(0, Math.min(100, Math.round(view.percent)));
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  const bytes =
    view.done !== null && view.total !== null
      ? ` ${Math.round(view.done / MiB)}/${Math.round(view.total / MiB)} MiB`
      : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent}%${bytes} ${view.line}`;
}

/** A writer for `--wait`: redraws on a terminal, appends lines otherwise; end() finishes it. */
export function progressWriter(stream: NodeJS.WriteStream = process.stdout) {
  let drawn = false;
  return {
    show(view: ProgressView): void {
      if (stream.isTTY) {
        stream.write(`\r\x1b[2K${progressBar(view).slice(0, (stream.columns ?? 120) - 1)}`);
        drawn = true;
      } else {
        stream.write(`${view.line}\n`);
      }
    },
    end(): void {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
