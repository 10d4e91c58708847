import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { othersShare, othersShareBetween, parseMachineTicks, parseProcessTicks, readCpu } from '../../bench/cpuShare.js';
import { compareWithTorch, findTorchPython, pythonCandidates } from '../../bench/torchCompare.js';
import type { TrainingCase } from '../../bench/sections.js';
import { startYardstickChild } from '../../bench/yardstickChild.js';
import { quietRounds, ratioSummaries, threadGains, type Round } from '../../bench/yardstickRounds.js';

const round = (n: number, othersShare: number | undefined, one: [number, number], two: [number, number]): Round => ({
  round: n,
  othersShare,
  timings: [
    { threads: 1, mergeTrain: one[0], pytorch: one[1] },
    { threads: 2, mergeTrain: two[0], pytorch: two[1] },
  ],
});

describe('quiet rounds and time ratios', () => {
  const rounds = [
    round(1, 0.02, [3, 1], [2, 1]),
    round(2, 0.45, [9, 1], [9, 1]), // busy: left out
    round(3, 0.099, [2, 1], [1.5, 0.5]),
    round(4, undefined, [7, 1], [7, 1]), // unknown share: not known to be quiet
    round(5, 0.05, [4, 2], [3, 1.5]),
  ];

  it('keeps only rounds where others used under 10% of the CPU', () => {
    const chosen = quietRounds(rounds);
    expect(chosen.quietOnly).toBe(true);
    expect(chosen.rounds.map((r) => r.round)).toEqual([1, 3, 5]);
    expect(quietRounds(rounds, 0.03).rounds.map((r) => r.round)).toEqual([1]);
  });

  it('falls back to every round, saying so, when none was quiet', () => {
    const busy = [rounds[1]!, rounds[3]!];
    expect(quietRounds(busy)).toEqual({ rounds: busy, quietOnly: false });
  });

  it('gives the median of the paired ratios with their range, and median times, per thread count', () => {
    const [one, two] = ratioSummaries(quietRounds(rounds).rounds);
    // 1 thread: ratios 3, 2, 2; times 3, 2, 4 against 1, 1, 2.
    expect(one).toEqual({ threads: 1, mergeTrain: 3, pytorch: 1, ratio: 2, low: 2, high: 3 });
    // 2 threads: ratios 2, 3, 2; times 2, 1.5, 3 against 1, 0.5, 1.5.
    expect(two).toEqual({ threads: 2, mergeTrain: 2, pytorch: 1, ratio: 2, low: 2, high: 3 });
    // An even count of rounds takes the mean of the middle two.
    expect(ratioSummaries([rounds[0]!, rounds[2]!])[0]!.ratio).toBe(2.5);
  });

  it('gives each side\'s speed-up from one thread to two, round by round', () => {
    // merge-train: 3/2, 2/1.5, 4/3 -> median 4/3; PyTorch: 1/1, 1/0.5, 2/1.5 -> median 4/3 too, 1 and 2 around it.
    const gains = threadGains(quietRounds(rounds).rounds, 1, 2);
    expect(gains.mergeTrain).toBeCloseTo(4 / 3, 12);
    expect(gains.pytorch).toBeCloseTo(4 / 3, 12);
    expect(() => threadGains(rounds, 1, 4)).toThrow('round 1 lacks a timing at 1 or 4 thread(s)');
  });
});

describe("other processes' share of the CPU", () => {
  it('reads busy and total ticks from /proc/stat', () => {
    const stat = 'cpu  100 5 20 800 10 1 2 3 0 0\ncpu0 50 2 10 400 5 0 1 1 0 0\nintr 1 2 3\n';
    expect(parseMachineTicks(stat)).toEqual({ busy: 131, total: 941 });
    expect(() => parseMachineTicks('intr 1 2')).toThrow('/proc/stat has no "cpu" line');
  });

  it("reads a process's user and system ticks, whatever its name holds", () => {
    const fields = ['S', ...Array.from({ length: 10 }, (_, i) => String(i + 4)), '70', '30', '0', '0', '20'];
    expect(parseProcessTicks(`42 (node) ${fields.join(' ')}`)).toBe(100);
    expect(parseProcessTicks(`42 (a (b) c) ${fields.join(' ')}`)).toBe(100);
  });

  it("is the machine's busy time less ours, over all the time, clamped to [0, 1]", () => {
    const before = { busy: 1000, total: 5000 };
    expect(othersShare(before, { busy: 1150, total: 5200 }, 130)).toBeCloseTo(0.1, 12);
    expect(othersShare(before, { busy: 1150, total: 5200 }, 160)).toBe(0);
    expect(othersShare(before, before, 0)).toBe(0);
  });

  it('measures the live machine on Linux, counting our own processes out', () => {
    const before = readCpu([process.pid]);
    if (process.platform !== 'linux') return expect(before).toBeUndefined();
    let x = 0;
    for (const until = performance.now() + 200; performance.now() < until; ) x += Math.sqrt(x + 1);
    const share = othersShareBetween(before, readCpu([process.pid]));
    expect(share).toBeGreaterThanOrEqual(0);
    expect(share).toBeLessThanOrEqual(1);
    expect(othersShareBetween(undefined, before)).toBeUndefined();
  });
});

describe('finding PyTorch', () => {
  it('tries only MERGE_TRAIN_PYTHON when it is set, else python3 then /usr/bin/python3', () => {
    expect(pythonCandidates({ MERGE_TRAIN_PYTHON: '/opt/py/bin/python' })).toEqual(['/opt/py/bin/python']);
    expect(pythonCandidates({})).toEqual(['python3', '/usr/bin/python3']);
  });

  it('skips the comparison with a printed reason when the python has no torch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'merge-train-yardstick-'));
    const python = join(dir, 'python-without-torch');
    writeFileSync(python, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
    chmodSync(python, 0o755);
    const lines: string[] = [];
    const result = await compareWithTorch({ cases: [], rounds: 1, threads: [1], env: { ...process.env, MERGE_TRAIN_PYTHON: python }, log: (l) => lines.push(l) });
    expect(result).toBeUndefined();
    expect(lines).toEqual([
      `PyTorch comparison skipped: MERGE_TRAIN_PYTHON has no torch (${python}: ModuleNotFoundError: No module named 'torch'); set MERGE_TRAIN_PYTHON to a python with torch`,
    ]);
  });

  it('says so when MERGE_TRAIN_PYTHON cannot be run at all', () => {
    const found = findTorchPython({ MERGE_TRAIN_PYTHON: '/nonexistent/python3' });
    expect(found).toEqual({ reason: expect.stringMatching(/^MERGE_TRAIN_PYTHON has no torch \(\/nonexistent\/python3: spawnSync \/nonexistent\/python3 ENOENT\)/) });
  });
});

// Where a python with torch is installed: both sides train tiny cases through the whole protocol.
const torch = findTorchPython();
describe.skipIf('reason' in torch)('the comparison, end to end on tiny cases', () => {
  it('times both sides at each thread count every round and gives a ratio figure per case and thread count', async () => {
    const cases: TrainingCase[] = [
      { key: 'mlp', label: 'tiny MLP', family: 'mlp', config: { hidden: [16] }, inputShape: [12], examples: 300 },
      { key: 'resnet', label: 'tiny ResNet', family: 'resnet', config: { blocks: [1, 1], widths: [4, 6] }, inputShape: [8, 8, 1], examples: 64 },
    ];
    const lines: string[] = [];
    const result = await compareWithTorch({ cases, rounds: 2, threads: [1, 2], log: (l) => lines.push(l) });
    expect(result!.cases.map((c) => [c.key, c.rounds.length])).toEqual([['mlp', 2], ['resnet', 2]]);
    expect(Object.keys(result!.matmulGflops)).toEqual(['1', '2']);
    for (const gflops of Object.values(result!.matmulGflops)) expect(gflops).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith("PyTorch's BLAS: "))).toBe(true);
    for (const c of result!.cases) {
      for (const r of c.rounds) {
        expect(r.timings.map((t) => t.threads)).toEqual([1, 2]);
        for (const t of r.timings) expect(Math.min(t.mergeTrain, t.pytorch)).toBeGreaterThan(0);
      }
    }
    expect(result!.figures.map((f) => f.key)).toEqual(['torch.mlp.1', 'torch.mlp.2', 'torch.mlp.gain', 'torch.resnet.1', 'torch.resnet.2', 'torch.resnet.gain']);
    for (const f of result!.figures) expect(f.value).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith('| tiny ResNet | 2 |'))).toBe(true);
    expect(lines.some((l) => l.startsWith("tiny MLP: merge-train takes "))).toBe(true);
  });

  it("rejects with the failing child's error, named", async () => {
    const cases: TrainingCase[] = [{ key: 'odd', label: 'unknown family', family: 'transformer', config: {}, inputShape: [4], examples: 8 }];
    await expect(compareWithTorch({ cases, rounds: 1, threads: [1], log: () => {} })).rejects.toThrow(
      'merge-train, 1 thread(s): unknown model family "transformer"; valid: ',
    );
    const { python } = torch as { python: string };
    const cases2 = JSON.stringify([{ key: 'mlp', label: 'tiny MLP', family: 'mlp', config: { hidden: [4] }, inputShape: [3], examples: 8 }]);
    const child = await startYardstickChild('PyTorch, 1 thread(s)', python, ['bench/torchYardstick.py', '1', cases2, '{}']);
    try {
      expect(child.ready).toMatchObject({ ready: true, threads: 1 });
      await expect(child.epoch('vgg')).rejects.toThrow('PyTorch, 1 thread(s): ValueError: unknown request "epoch vgg"; expected "epoch <mlp>"');
    } finally {
      child.stop();
    }
  });
});
