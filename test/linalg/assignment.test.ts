import { linearSumAssignment } from 'linear-sum-assignment';
import { describe, expect, it } from 'vitest';
import { linearAssignment, maximumAssignment, toMlMatrix, type DenseMatrix } from '../../src/linalg/dense.js';
import { createRng } from '../../src/util/random.js';

/**
 * The flat-array linear assignment (src/linalg/dense.ts) must make exactly the choices of the
 * linear-sum-assignment package it replaced, ties and rectangular shapes included, and be optimal.
 */

type Kind = 'gaussian' | 'ties' | 'signed zeros';

function randomMatrix(rows: number, cols: number, seed: number, kind: Kind): DenseMatrix {
  const rng = createRng(seed);
  const draw = (): number => {
    if (kind === 'ties') return Math.floor(rng() * 3); // few distinct values: many equal paths
    if (kind === 'signed zeros') return rng() < 0.5 ? (rng() < 0.5 ? -0 : 0) : Math.floor(rng() * 2) - 1;
    return rng() + rng() + rng() - 1.5;
  };
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, draw) };
}

/** The package's answer, as Int32Arrays. */
function reference(m: DenseMatrix, maximize: boolean): { rowAssignments: Int32Array; columnAssignments: Int32Array } {
  const { rowAssignments, columnAssignments } = linearSumAssignment(toMlMatrix(m), { maximaze: maximize });
  return { rowAssignments: Int32Array.from(rowAssignments), columnAssignments: Int32Array.from(columnAssignments) };
}

/** The best total over every way to match min(rows, cols) pairs, by enumeration (small matrices). */
function bruteForceBest(m: DenseMatrix, maximize: boolean): number {
  let best = maximize ? -Infinity : Infinity;
  const transpose = m.rows > m.cols;
  const [short, long] = transpose ? [m.cols, m.rows] : [m.rows, m.cols];
  const value = (i: number, j: number) => (transpose ? m.data[j * m.cols + i]! : m.data[i * m.cols + j]!);
  const longUsed = new Uint8Array(long);
  const visit = (i: number, total: number): void => {
    if (i === short) {
      best = maximize ? Math.max(best, total) : Math.min(best, total);
      return;
    }
    for (let j = 0; j < long; j++) {
      if (longUsed[j]) continue;
      longUsed[j] = 1;
      visit(i + 1, total + value(i, j));
      longUsed[j] = 0;
    }
  };
  visit(0, 0);
  return best;
}

function total(m: DenseMatrix, rowAssignments: Int32Array): number {
  let sum = 0;
  rowAssignments.forEach((c, r) => {
    if (c >= 0) sum += m.data[r * m.cols + c]!;
  });
  return sum;
}

describe('linearAssignment', () => {
  it('matches the linear-sum-assignment package choice for choice on square and rectangular matrices, with ties', () => {
    let cases = 0;
    for (const kind of ['gaussian', 'ties', 'signed zeros'] as const) {
      for (const [rows, cols] of [[1, 1], [2, 2], [3, 3], [5, 5], [8, 8], [17, 17], [40, 40], [1, 4], [4, 1], [3, 7], [7, 3], [12, 30], [30, 12]]) {
        for (const maximize of [true, false]) {
          for (let seed = 0; seed < 3; seed++) {
            const m = randomMatrix(rows!, cols!, 1000 * rows! + 10 * cols! + seed, kind);
            expect(linearAssignment(m, maximize), `${kind} ${rows}x${cols} maximize ${maximize} seed ${seed}`).toEqual(reference(m, maximize));
            cases++;
          }
        }
      }
    }
    expect(cases).toBe(3 * 13 * 2 * 3);
  });

  it('stops where the package stops when infinite costs leave no augmenting path', () => {
    const m: DenseMatrix = { rows: 3, cols: 3, data: Float64Array.from([1, -Infinity, 2, -Infinity, -Infinity, 3, 0, 5, -Infinity]) };
    for (const maximize of [true, false]) expect(linearAssignment(m, maximize)).toEqual(reference(m, maximize));
    const wide: DenseMatrix = { rows: 2, cols: 3, data: Float64Array.from([1, 2, 3, 4, Infinity, 6]) };
    for (const maximize of [true, false]) expect(linearAssignment(wide, maximize)).toEqual(reference(wide, maximize));
  });

  it('finds an optimal assignment, each row and column used once, as brute force confirms', () => {
    for (const kind of ['gaussian', 'ties'] as const) {
      for (const [rows, cols] of [[1, 1], [2, 2], [4, 4], [6, 6], [7, 7], [3, 6], [6, 3], [2, 5]]) {
        for (const maximize of [true, false]) {
          const m = randomMatrix(rows!, cols!, 77 * rows! + cols!, kind);
          const { rowAssignments, columnAssignments } = linearAssignment(m, maximize);
          const matched = Array.from(rowAssignments).filter((c) => c >= 0);
          expect(matched).toHaveLength(Math.min(rows!, cols!));
          expect(new Set(matched).size).toBe(matched.length);
          rowAssignments.forEach((c, r) => c >= 0 && expect(columnAssignments[c]).toBe(r));
          expect(total(m, rowAssignments)).toBeCloseTo(bruteForceBest(m, maximize), 9);
        }
      }
    }
  });

  it('maximumAssignment returns a permutation of a square matrix and refuses a rectangular one in one line', () => {
    const m = randomMatrix(9, 9, 5, 'gaussian');
    const assignment = maximumAssignment(m);
    expect(Array.from(assignment).sort((a, b) => a - b)).toEqual(Array.from({ length: 9 }, (_, i) => i));
    expect(assignment).toEqual(reference(m, true).rowAssignments);
    expect(() => maximumAssignment(randomMatrix(2, 3, 1, 'gaussian'))).toThrow(/^assignment needs a square matrix, got 2x3$/);
  });
});
