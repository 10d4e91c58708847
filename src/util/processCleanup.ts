/**
 * Work to do however this process ends: normally, or by SIGINT (Ctrl-C), SIGTERM or SIGHUP. The
 * signal is raised again once the work is done, so the process still ends as that signal says (its
 * exit code included). A SIGKILL runs nothing: what it leaves is swept by the next process (see
 * isProcessAlive).
 */

const tasks = new Set<() => void>();
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

function runTasks(): void {
  for (const task of [...tasks]) {
    tasks.delete(task);
    try {
      task();
    } catch {
      // Best effort: one failed clean-up must not stop the others, nor the exit.
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runTasks);
  for (const signal of signals) {
    process.once(signal, () => {
      runTasks();
      // Ending as the signal says, unless the program that uses merge-train handles it itself.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Runs `task` when this process ends; returns a function that cancels it (once the work is done early). */
export function atExit(task: () => void): () => void {
  install();
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}

/** Whether a process with this id is running (one owned by another user counts as running). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
