/**
 * How the pipeline tells the outside world what it is doing. The CLI shows progress bars; tests and
 * library users can pass {@link silentObserver}.
 */
export interface ProgressBar {
  update(done: number, detail?: string): void;
  stop(): void;
}

/** Receives a run's messages, warnings and progress. */
export interface RunObserver {
  /** A line of information, e.g. a stage's result. */
  log(line: string): void;
  /** A warning the user should read (degenerate statistics, a changed recipe). */
  warn(line: string): void;
  /** A bar for `total` units of work. */
  bar(label: string, total: number): ProgressBar;
}

/** An observer that shows nothing. */
export const silentObserver: RunObserver = {
  log: () => {},
  warn: () => {},
  bar: () => ({ update: () => {}, stop: () => {} }),
};
