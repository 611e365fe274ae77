import { progressBar, progressWriter } from '../../cli/progress-line';

/** A stand-in for stdout that records what was written, as a terminal or as a pipe. */
function stream(isTTY: boolean) {
  const written: string[] = [];
  const fake = { isTTY, columns: 200, write: (text: string) => written.push(text) };
  return { fake: fake as unknown as NodeJS.WriteStream, written };
}

const view = {
  line: 'demo host1 → host2: running [compute_live_migration]',
  percent: 45,
  done: 60 * 1024 * 1024,
  total: 128 * 1024 * 1024,
};

describe('--wait progress', () => {
  it('draws a bar with percent, bytes and the step', () => {
    expect(progressBar(view)).toBe(
      '[###########.............] 45% 60/128 MiB demo host1 → host2: running [compute_live_migration]',
    );
    expect(progressBar({ ...view, percent: null })).toBe(view.line);
  });

  it('redraws one line in place on a terminal and ends it with a newline', () => {
    const { fake, written } = stream(true);
    const progress = progressWriter(fake);
    progress.show(view);
    progress.show({ ...view, percent: 100 });
    progress.end();
    expect(written).toHaveLength(3);
    expect(written[0].startsWith('\r\x1b[2K[')).toBe(true);
    expect(written[1]).toContain('100%');
    expect(written[2]).toBe('\n');
  });

  it('writes plain lines, no bar and no escapes, when not a terminal', () => {
    const { fake, written } = stream(false);
    const progress = progressWriter(fake);
    progress.show(view);
    progress.end();
    expect(written).toEqual([`${view.line}\n`]);
  });
});
