import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import { linearSumAssignment } from 'linear-sum-assignment';

/**
 * The few dense float64 routines the aligners need, on row-major Float64Array matrices.
 * Built on ml-matrix (eigen/SVD) and linear-sum-assignment (Jonker-Volgenant, as scipy uses).
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
 * The square root, inverse square root and extreme eigenvalues of a symmetric positive-definite
 * matrix.
 */
export function symmetricSqrtAndInverse(s: Matrix): { sqrt: Matrix; invSqrt: Matrix; minEigenvalue: number; maxEigenvalue: number } {
  const eig = new EigenvalueDecomposition(s, { assumeSymmetric: true });
  const values = eig.realEigenvalues;
  const vectors = eig.eigenvectorMatrix;
  const minEigenvalue = Math.min(...values);
  const maxEigenvalue = Math.max(...values);
  const scaled = (f: (v: number) => number): Matrix => {
    const vd = vectors.clone();
    for (let j = 0; j < values.length; j++) {
      const factor = f(values[j]!);
      for (let i = 0; i < vd.rows; i++) vd.set(i, j, vd.get(i, j) * factor);
    }
    return vd.mmul(vectors.transpose());
  };
  return { sqrt: scaled(Math.sqrt), invSqrt: scaled((v) => 1 / Math.sqrt(v)), minEigenvalue, maxEigenvalue };
}

/**
 * The orthogonal polar factor U V^T of M = U S V^T (the orthogonal matrix closest to M), with the
 * singular values S, largest first.
 */
export function polarFactor(m: Matrix): { orthogonal: Matrix; singularValues: Float64Array } {
  const svd = new SingularValueDecomposition(m, { autoTranspose: true });
  return {
    orthogonal: svd.leftSingularVectors.mmul(svd.rightSingularVectors.transpose()),
    singularValues: Float64Array.from(svd.diagonal),
  };
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
