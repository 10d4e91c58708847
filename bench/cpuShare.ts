/**
 * How much of the machine OTHER processes used while the bench measured: the whole machine's busy
 * CPU time from /proc/stat, less the CPU time of the bench's own processes from /proc/<pid>/stat.
 * On a shared machine a timing is only worth comparing when that share was small. Linux only;
 * elsewhere the share is unknown (undefined).
 */
import { readFileSync } from 'node:fs';

/** The whole machine's CPU time so far, in clock ticks summed over all CPUs. */
export interface MachineTicks {
  busy: number;
  total: number;
}

/** Busy and total ticks from the text of /proc/stat (its first, all-CPU `cpu` line). */
export function parseMachineTicks(procStat: string): MachineTicks {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no "cpu" line');
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** User plus system ticks of one process, all its threads, from the text of /proc/<pid>/stat. */
export function parseProcessTicks(procPidStat: string): number {
  // The command name (field 2) may hold spaces and parentheses: the fields after it start past the last ')'.
  const fields = procPidStat.slice(procPidStat.lastIndexOf(')') + 2).trim().split(/\s+/);
  // Fields 14 and 15 of the file (utime, stime) are 11 and 12 counted from field 3 (state).
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * The share (0 to 1) of the machine's CPU time that processes other than ours used between two
 * readings: machine busy ticks less our processes' ticks, over all ticks. Tick sampling makes the
 * difference slightly negative at times; it is clamped to 0.
 */
export function othersShare(before: MachineTicks, after: MachineTicks, ourTicks: number): number {
  const total = after.total - before.total;
  if (!(total > 0)) return 0;
  return Math.min(1, Math.max(0, after.busy - before.busy - ourTicks) / total);
}

/** A reading of the machine and of our processes, to compare with a later one. */
export interface CpuReading {
  machine: MachineTicks;
  /** Ticks of each of our processes, by pid. */
  processes: Map<number, number>;
}

/** Reads the machine's and `pids`' ticks now; undefined where /proc cannot be read (not Linux). */
export function readCpu(pids: number[]): CpuReading | undefined {
  try {
    const machine = parseMachineTicks(readFileSync('/proc/stat', 'utf8'));
    const processes = new Map(pids.map((pid) => [pid, parseProcessTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'))]));
    return { machine, processes };
  } catch {
    return undefined;
  }
}

/** Others' share between two readings of the same processes; undefined when either is missing. */
export function othersShareBetween(before: CpuReading | undefined, after: CpuReading | undefined): number | undefined {
  if (!before || !after) return undefined;
  let ours = 0;
  for (const [pid, ticks] of after.processes) ours += ticks - (before.processes.get(pid) ?? ticks);
  return othersShare(before.machine, after.machine, ours);
}
