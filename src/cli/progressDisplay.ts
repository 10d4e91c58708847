import cliProgress from 'cli-progress';
import type { RunObserver } from '../recipe/observer.js';

/**
 * A {@link RunObserver} for the terminal: a progress bar per long step on stderr (only when stderr is
 * a terminal), results as plain lines on stdout.
 */
export function terminalObserver(): RunObserver {
  return {
    log: (line) => console.log(line),
    warn: (line) => console.error(`warning: ${line}`),
    bar: (label, total) => {
      if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
      const bar = new cliProgress.SingleBar(
        { format: `${label.padEnd(36)} {bar} {value}/{total} {detail}`, hideCursor: true, clearOnComplete: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { detail: '' });
      return {
        update: (done, detail) => bar.update(done, detail === undefined ? {} : { detail }),
        stop: () => bar.stop(),
      };
    },
  };
}
