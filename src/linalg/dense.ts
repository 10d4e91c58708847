import { Matrix } from 'ml-matrix';
import { linearSumAssignment } from 'linear-sum-assignment';

/**
 * Dense matrices as plain row-major arrays, their conversion to ml-matrix, and the linear assignment
 * the permutation aligner needs (linear-sum-assignment: Jonker-Volgenant, as scipy uses). CCA's
 * eigen and polar decompositions live in their own files here (symmetricEigen.ts, polar.ts).
 */

/** A square or rectangular row-major float64 matrix. */
export interface DenseMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function toMlMatrix(m: DenseMatrix): Matrix {
  const out = new Matrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) out.setRow(i, m.data.subarray(i * m.cols, (i + 1) * m.cols));
  return out;
}

export function fromMlMatrix(m: Matrix): DenseMatrix {
  const data = new Float64Array(m.rows * m.columns);
  for (let i = 0; i < m.rows; i++) data.set(m.getRow(i), i * m.columns);
  return { rows: m.rows, cols: m.columns, data };
}

/**
 * Maximum-weight perfect matching on a square score matrix: returns `assignment` with
 * assignment[row] = the column matched to that row.
 */
export function maximumAssignment(scores: DenseMatrix): Int32Array {
  if (scores.rows !== scores.cols) throw new Error(`assignment needs a square matrix, got ${scores.rows}x${scores.cols}`);
  const { rowAssignments } = linearSumAssignment(toMlMatrix(scores), { maximaze: true });
  return Int32Array.from(rowAssignments);
}
