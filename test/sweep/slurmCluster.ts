import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import { delimiter, join } from 'node:path';
import { atExit } from '../../src/util/processCleanup.js';

/**
 * A single-node Slurm cluster for tests, run as root in a temporary folder: munged with its own key
 * and socket, slurmctld and slurmd in the foreground with a generated slurm.conf, nothing of the
 * machine's own configuration used or changed. The client commands (sbatch, squeue, ...) find it
 * through SLURM_CONF, which start() sets in this process's environment and stop() restores.
 */
export interface SlurmCluster {
  dir: string;
  conf: string;
  host: string;
  /** The partition every job runs in. */
  partition: string;
  stop(): Promise<void>;
}

/** The programs the cluster needs: daemons (often in sbin, off a user's PATH) and client commands. */
const PROGRAMS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo', 'scancel'];

/** Where `program` is installed, searching PATH and the sbin folders, or undefined. */
function findProgram(program: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why the cluster cannot start on this machine (not root, programs missing), or undefined if it may. */
export function slurmUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `Slurm tests run on Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'Slurm tests start slurmctld, slurmd and munged as root, and this is not root';
  const missing = PROGRAMS.filter((program) => !findProgram(program));
  if (missing.length > 0) return `Slurm tests need ${missing.join(', ')} (apt-get install slurm-wlm munge)`;
  return undefined;
}

/** A TCP port free now on this machine. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The last lines of a log, for a failure message. */
function tail(path: string, lines = 8): string {
  if (!existsSync(path)) return `(no ${path})`;
  return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join(' | ');
}

/** Resolves once `check` holds, or rejects with `what` after `timeoutMs`. */
async function waitFor(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs a client command against the cluster; its stdout, or undefined if it failed. */
export function slurmClient(program: string, args: string[]): string | undefined {
  const result = spawnSync(findProgram(program) ?? program, args, { encoding: 'utf8', env: process.env, timeout: 30_000 });
  return result.status === 0 ? result.stdout : undefined;
}

/** Stops a daemon: SIGTERM, then SIGKILL if it has not exited within 10 s. */
async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

/** The slurm.conf of a one-node cluster whose every file lives in `dir`. */
function slurmConf(dir: string, host: string, ports: { controller: number; node: number }, partition: string): string {
  // Below what the machine has: slurmd drains a node that claims more memory than it finds.
  const memoryMb = Math.max(256, Math.floor(os.totalmem() / 2 ** 20) - 512);
  return [
    'ClusterName=mergetrain',
    // The loopback address: the test needs no name resolution of the host.
    `SlurmctldHost=${host}(127.0.0.1)`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${dir}/munge.socket`,
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool`,
    `SlurmctldPidFile=${dir}/slurmctld.pid`,
    `SlurmdPidFile=${dir}/slurmd.pid`,
    `SlurmctldLogFile=${dir}/slurmctld.log`,
    `SlurmdLogFile=${dir}/slurmd.log`,
    `SlurmctldPort=${ports.controller}`,
    `SlurmdPort=${ports.node}`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'AccountingStorageType=accounting_storage/none',
    'JobAcctGatherType=jobacct_gather/none',
    'MpiDefault=none',
    'ReturnToService=2',
    // A cancelled task gets SIGKILL 5 s after SIGTERM (30 s by default): tests wait less.
    'KillWait=5',
    `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${os.cpus().length} RealMemory=${memoryMb} State=UNKNOWN`,
    `PartitionName=${partition} Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ].join('\n');
}

/**
 * Starts the cluster and waits until its node is idle (at most a minute), or returns why it cannot
 * (see slurmUnavailable; a daemon that exits or a node that never comes up, with its log's last lines).
 */
export async function startSlurmCluster(): Promise<SlurmCluster | { unavailable: string }> {
  const unavailable = slurmUnavailable();
  if (unavailable) return { unavailable };
  const dir = await mkdtemp(join(os.tmpdir(), 'merge-train-slurm-'));
  // munged wants its socket's folder searchable by everyone.
  await chmod(dir, 0o755);
  const host = os.hostname();
  const partition = 'tests';
  const conf = join(dir, 'slurm.conf');
  const daemons: ChildProcess[] = [];
  const previousConf = process.env.SLURM_CONF;
  // Whether the node came up (then jobs may run, and stopping cancels them first).
  let up = false;
  const start = (program: string, args: string[], log: string) => {
    const out = openSync(join(dir, log), 'a');
    const child = spawn(findProgram(program)!, args, { stdio: ['ignore', out, out], env: { ...process.env, SLURM_CONF: conf } });
    child.on('error', () => undefined); // reported as an early exit below
    daemons.push(child);
    return child;
  };
  // A test process that dies (a crash, a timeout) takes its daemons with it rather than orphan them.
  const cancelCleanup = atExit(() => {
    // SIGKILL: nothing is saved on the way out (munged would write its seed file into the folder being removed).
    for (const child of daemons) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const stop = async () => {
    cancelCleanup();
    // Jobs first: their processes (slurmstepd) outlive slurmd.
    const ids = up ? (slurmClient('squeue', ['--noheader', '--format=%A'])?.split('\n').map((l) => l.trim()).filter(Boolean) ?? []) : [];
    if (ids.length > 0) {
      slurmClient('scancel', ids);
      await waitFor(() => (slurmClient('squeue', ['--noheader', '--format=%A']) ?? '').trim() === '', 20_000, () => 'jobs still queued').catch(() => undefined);
    }
    for (const child of [...daemons].reverse()) await stopDaemon(child);
    if (previousConf === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = previousConf;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await writeFile(join(dir, 'munge.key'), randomBytes(1024), { mode: 0o400 });
    const socket = join(dir, 'munge.socket');
    const munged = start('munged', ['-F', '--force', `--socket=${socket}`, `--key-file=${dir}/munge.key`, `--pid-file=${dir}/munged.pid`, `--seed-file=${dir}/munge.seed`, `--log-file=${dir}/munged.log`], 'munged.out');
    await waitFor(() => existsSync(socket) || munged.exitCode !== null, 15_000, () => `munged did not create its socket: ${tail(join(dir, 'munged.out'))}`);
    if (munged.exitCode !== null) throw new Error(`munged exited (${munged.exitCode}): ${tail(join(dir, 'munged.out'))}`);
    const ports = { controller: await freePort(), node: await freePort() };
    await writeFile(conf, slurmConf(dir, host, ports, partition));
    await mkdir(join(dir, 'state'));
    await mkdir(join(dir, 'spool'));
    process.env.SLURM_CONF = conf;
    const controller = start('slurmctld', ['-D', '-f', conf], 'slurmctld.out');
    const node = start('slurmd', ['-D', '-f', conf], 'slurmd.out');
    const idle = () => /^idle/m.test(slurmClient('sinfo', ['--noheader', '--format=%T']) ?? '');
    await waitFor(
      () => idle() || controller.exitCode !== null || node.exitCode !== null,
      60_000,
      () => `the node never came up: slurmctld: ${tail(join(dir, 'slurmctld.log'))}; slurmd: ${tail(join(dir, 'slurmd.log'))}`,
    );
    for (const [name, child] of [['slurmctld', controller], ['slurmd', node]] as const) {
      if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${tail(join(dir, `${name}.out`))} ${tail(join(dir, `${name}.log`))}`);
    }
    up = true;
    return { dir, conf, host, partition, stop };
  } catch (error) {
    await stop();
    return { unavailable: `the test cluster did not start: ${(error as Error).message}` };
  }
}
