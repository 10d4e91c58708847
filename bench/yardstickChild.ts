/**
 * A child process of the PyTorch yardstick (bench/yardstickTrainer.ts or bench/torchYardstick.py)
 * seen from the parent: one request line at a time on its stdin, one answer line back on its stdout.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The prefix of every answer line (anything else a child prints on stdout is not an answer). */
export const ANSWER_PREFIX = 'yardstick ';

/** An answer: `ready` once the child has started, then `seconds` (or `error`) for each request. */
export interface Answer {
  ready?: boolean;
  seconds?: number;
  error?: string;
  [detail: string]: unknown;
}

/** A running child; `ready` is its first answer. */
export interface YardstickChild {
  readonly name: string;
  readonly pid: number;
  readonly ready: Answer;
  /** Seconds of one epoch of the case `key`, as the child timed it; rejects with the child's error. */
  epoch(key: string): Promise<number>;
  /** Closes its stdin (it exits when its requests end) and kills it if still there after a while. */
  stop(): void;
}

/**
 * Starts `command args` and waits for its ready answer. `name` (e.g. "PyTorch, 2 threads") prefixes
 * errors; the child's stderr is kept and its last line given when it exits unexpectedly.
 */
export async function startYardstickChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<YardstickChild> {
  const child: ChildProcessWithoutNullStreams = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void }[] = [];
  let exited: Error | undefined;
  const failAll = (error: Error) => {
    exited = error;
    for (const w of waiting.splice(0)) w.reject(error);
  };
  child.on('error', (error) => failAll(new Error(`${name}: could not start ${command}: ${error.message}`)));
  child.on('exit', (code, signal) => {
    const last = stderr.trim().split('\n').pop() ?? '';
    failAll(new Error(`${name}: exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`));
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith(ANSWER_PREFIX)) return;
    waiting.shift()?.resolve(JSON.parse(line.slice(ANSWER_PREFIX.length)) as Answer);
  });
  const next = () => (exited ? Promise.reject(exited) : new Promise<Answer>((resolve, reject) => waiting.push({ resolve, reject })));
  const stop = () => {
    child.stdin.end();
    setTimeout(() => child.kill(), 5000).unref();
  };
  let ready: Answer;
  try {
    ready = await next();
  } catch (error) {
    stop();
    throw error;
  }
  return {
    name,
    pid: child.pid!,
    ready,
    async epoch(key) {
      const answered = next();
      child.stdin.write(`epoch ${key}\n`);
      const { seconds, error } = await answered;
      if (error !== undefined || typeof seconds !== 'number') throw new Error(`${name}: ${error ?? 'answered without seconds'}`);
      return seconds;
    },
    stop,
  };
}
