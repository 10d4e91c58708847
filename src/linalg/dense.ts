import { Matrix } from 'ml-matrix';

/**
 * Dense matrices as plain row-major arrays, their conversion to ml-matrix, and the linear assignment
 * the permutation aligners need (Jonker-Volgenant shortest augmenting paths, as scipy uses). CCA's
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
  return linearAssignment(scores, true).rowAssignments;
}

/** A linear assignment: the column of each row and the row of each column, -1 where unmatched. */
export interface Assignment {
  rowAssignments: Int32Array;
  columnAssignments: Int32Array;
}

/**
 * The assignment of rows to columns of the largest (`maximize`) or smallest total, each row and
 * column used at most once and min(rows, cols) pairs made: the shortest augmenting path algorithm of
 * Crouse, "On implementing 2D rectangular assignment algorithms" (IEEE TAES 2016), on flat typed
 * arrays. It makes the same choices, ties included, and does the same float64 arithmetic as the
 * linear-sum-assignment package (which this replaces: it scanned an array of row arrays by column
 * and spliced a plain array per step), so it gives the same assignment. A cost that is NaN or
 * infinite can leave no augmenting path: the pairs made so far are returned, the rest -1.
 */
export function linearAssignment(matrix: DenseMatrix, maximize: boolean): Assignment {
  const { rows, cols, data } = matrix;
  // Rows are matched to columns one column at a time, so the longer side is made the rows.
  const flip = cols > rows;
  const nRows = flip ? cols : rows;
  const nCols = flip ? rows : cols;
  // The entry at (row, column) of the matrix worked on (the transpose when flipped).
  const entry = flip ? (r: number, c: number) => data[c * cols + r]! : (r: number, c: number) => data[r * cols + c]!;
  // The largest (smallest) entry, met in the package's order, so even a signed zero is the same one.
  let extreme = data[0]!;
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) if (maximize ? entry(r, c) > extreme : entry(r, c) < extreme) extreme = entry(r, c);
  }
  // Costs column by column (the scan runs down one column), shifted to start at 0 and negated to maximise.
  const cost = new Float64Array(nRows * nCols);
  for (let c = 0; c < nCols; c++) {
    for (let r = 0; r < nRows; r++) {
      const shifted = entry(r, c) - extreme;
      cost[c * nRows + r] = maximize ? -shifted : shifted;
    }
  }
  const rowAssignments = new Int32Array(nRows).fill(-1);
  const columnAssignments = new Int32Array(nCols).fill(-1);
  const rowDuals = new Float64Array(nRows);
  const columnDuals = new Float64Array(nCols);
  const pathCost = new Float64Array(nRows);
  const pred = new Int32Array(nRows);
  const scannedRows = new Uint8Array(nRows);
  const scannedColumns = new Uint8Array(nCols);

  for (let start = 0; start < nCols; start++) {
    pathCost.fill(Number.POSITIVE_INFINITY);
    scannedRows.fill(0);
    scannedColumns.fill(0);
    let sink = -1;
    let length = 0;
    let column = start;
    while (sink === -1) {
      scannedColumns[column] = 1;
      const base = column * nRows;
      const columnDual = columnDuals[column]!;
      let closest = Number.POSITIVE_INFINITY;
      let closestAt = -1;
      // The rows not yet on the path, in increasing order: of equal costs the first wins, as in the package.
      for (let r = 0; r < nRows; r++) {
        if (scannedRows[r]) continue;
        const reduced = length + cost[base + r]! - columnDual - rowDuals[r]!;
        let best = pathCost[r]!;
        if (reduced < best) {
          pred[r] = column;
          pathCost[r] = best = reduced;
        }
        if (best < closest) {
          closest = best;
          closestAt = r;
        }
      }
      if (!Number.isFinite(closest)) {
        // No augmenting path: stop with the pairs made so far, unswapped (as the package does).
        return { rowAssignments, columnAssignments };
      }
      const row = closestAt;
      scannedRows[row] = 1;
      length = pathCost[row]!;
      if (rowAssignments[row] === -1) sink = row;
      else column = rowAssignments[row]!;
    }
    columnDuals[start] = columnDuals[start]! + length;
    for (let c = 0; c < nCols; c++) {
      if (scannedColumns[c] && c !== start) columnDuals[c] = columnDuals[c]! + (length - pathCost[columnAssignments[c]!]!);
    }
    for (let r = 0; r < nRows; r++) if (scannedRows[r]) rowDuals[r] = rowDuals[r]! - (length - pathCost[r]!);
    // Augment along the path back from the sink to the starting column.
    for (let r = sink; ; ) {
      const c = pred[r]!;
      rowAssignments[r] = c;
      const previous = columnAssignments[c]!;
      columnAssignments[c] = r;
      r = previous;
      if (c === start) break;
    }
  }
  return flip ? { rowAssignments: columnAssignments, columnAssignments: rowAssignments } : { rowAssignments, columnAssignments };
}
