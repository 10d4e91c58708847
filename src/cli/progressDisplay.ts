import cliProgress from 'cli-progress';
import type { RunObserver } from '../util/observer.js';

/**
 * A {@link RunObserver} for the terminal: results as plain lines on stdout, and a progress bar per
 * long step on stderr (only when stderr is a terminal). Bars that run at the same time (base models
 * trained by parallel workers) share one display, with log lines printed above them.
 */
export function terminalObserver(): RunObserver {
  let display: cliProgress.MultiBar | undefined;
  let active = 0;
  const log = (line: string, stream: 'log' | 'error') => {
    if (display) display.log(`${line}\n`);
    else console[stream](line);
  };
  return {
    log: (line) => log(line, 'log'),
    warn: (line) => log(`warning: ${line}`, 'error'),
    bar: (label, total) => {
      if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
      display ??= new cliProgress.MultiBar(
        { format: `{label} {bar} {value}/{total} {detail}`, hideCursor: true, clearOnComplete: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
      const bar = display.create(total, 0, { label: label.padEnd(36), detail: '' });
      active++;
      let stopped = false;
      return {
        update: (done, detail) => bar.update(done, detail === undefined ? {} : { detail }),
        stop: () => {
          if (stopped) return;
          stopped = true;
          display?.remove(bar);
          if (--active === 0) {
            display?.stop();
            display = undefined;
          }
        },
      };
    },
  };
}
