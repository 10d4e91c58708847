import type { ProgressBar, RunObserver } from '../util/observer.js';

/**
 * A {@link RunObserver} split across processes: a worker's observer turns each call into a message,
 * and the parent replays the messages on its own observer, so every worker's bars and lines appear
 * on the one display the parent owns.
 */
export type ObserverMessage =
  | { kind: 'log' | 'warn'; line: string }
  | { kind: 'bar'; bar: number; label: string; total: number }
  | { kind: 'update'; bar: number; done: number; detail?: string }
  | { kind: 'stop'; bar: number };

/** The worker side: an observer whose calls become messages passed to `send`. */
export function relayingObserver(send: (message: ObserverMessage) => void): RunObserver {
  let bars = 0;
  return {
    log: (line) => send({ kind: 'log', line }),
    warn: (line) => send({ kind: 'warn', line }),
    bar: (label, total) => {
      const bar = bars++;
      send({ kind: 'bar', bar, label, total });
      return {
        update: (done, detail) => send({ kind: 'update', bar, done, ...(detail === undefined ? {} : { detail }) }),
        stop: () => send({ kind: 'stop', bar }),
      };
    },
  };
}

/** The parent side: replays one worker's messages on `observer`. Make one per worker (bar numbers are per worker). */
export function observerReplayer(observer: RunObserver): (message: ObserverMessage) => void {
  const bars = new Map<number, ProgressBar>();
  return (message) => {
    switch (message.kind) {
      case 'log':
        return observer.log(message.line);
      case 'warn':
        return observer.warn(message.line);
      case 'bar':
        bars.set(message.bar, observer.bar(message.label, message.total));
        return;
      case 'update':
        return bars.get(message.bar)?.update(message.done, message.detail);
      case 'stop':
        bars.get(message.bar)?.stop();
        bars.delete(message.bar);
    }
  };
}
