/**
 * Figure: the tree of a hierarchical merge. Base models at the bottom, each merge above its inputs at
 * its level, every node with its test accuracy; a model carried up unmerged shows as an edge that skips
 * levels. Drawn directly on the canvas (Chart.js has no tree), with the report theme.
 */

import type { SKRSContext2D } from '@napi-rs/canvas';

import type { ManyMergeMetrics, TreeNode } from '../artifacts/metrics.js';
import { ensure } from '../util/errors.js';
import { renderDrawing, type DrawingSize, type Figure, type FigureSize } from './render.js';
import { toPercent } from './rows.js';
import {
  AXIS_COLOUR,
  BASE_MODEL_COLOUR,
  cssFont,
  FIGURE,
  FONT_SIZES,
  GRID_COLOUR,
  TEXT_COLOUR,
  tint,
  variantColour,
} from './theme.js';

/** Options of {@link renderMergeTree}; the default size grows with the number of leaves and levels. */
export interface MergeTreeOptions extends FigureSize {
  /** Title (default "<label>: merge tree of N models"). */
  title?: string;
  /** Colour of the merge nodes (default the first variant colour); base models are grey as everywhere. */
  colour?: string;
}

/** A node as drawn: its box (centre and size in px) and the lines of text in it. */
export interface TreeBox {
  id: string;
  level: number;
  leaf: boolean;
  root: boolean;
  x: number;
  y: number;
  width: number;
  height: number;
  lines: string[];
}

/** An edge from an input (`from`, lower) to the node it was merged into (`to`), as a polyline in px. */
export interface TreeEdge {
  from: string;
  to: string;
  fromLevel: number;
  toLevel: number;
  points: [x: number, y: number][];
}

/** Where everything of a merge tree figure goes. */
export interface MergeTreeLayout extends DrawingSize {
  boxes: TreeBox[];
  edges: TreeEdge[];
  /** The y (px) of each level's centre line, level 0 (base models) first. */
  levelY: number[];
}

/** A rendered merge tree, with the layout it was drawn from (useful for tests and annotation). */
export interface MergeTreeFigure extends Figure {
  layout: MergeTreeLayout;
}

/** Geometry in px: margins around the tree, box sizes and the spacing that sets the default size. */
const MARGIN = { top: 62, right: 20, bottom: 14, left: 96 } as const;
const LEAF = { maxWidth: 110, height: 42 } as const;
const MERGE = { maxWidth: 84, height: 26 } as const;
const LEAF_SLOT = 104;
const LEVEL_SPACING = 100;
const BOX_GAP = 8;

const SUBTITLE = 'test accuracy (%) of every model: base models at the bottom, each merge above its two inputs';

/**
 * Checks that `tree` is a tree as metrics.json describes it (ids unique, inputs known, leaves at level
 * 0, each merge above its inputs, every node under the root, the root last) and returns its nodes by id.
 */
function checkTree(tree: readonly TreeNode[], name: string): Map<string, TreeNode> {
  ensure(tree.length > 0, `merge tree of ${name} has no nodes; expected its leaves first and the root last`);
  const byId = new Map<string, TreeNode>();
  for (const node of tree) {
    ensure(!byId.has(node.id), () => `merge tree of ${name}: node id '${node.id}' appears twice; every node needs its own id`);
    byId.set(node.id, node);
  }
  const parents = new Map<string, string>();
  for (const node of tree) {
    if (node.inputs.length === 0) {
      ensure(node.level === 0, () => `merge tree of ${name}: leaf '${node.id}' is at level ${node.level}; base models are at level 0`);
      continue;
    }
    for (const input of node.inputs) {
      const child = byId.get(input);
      ensure(child, () => `merge tree of ${name}: node '${node.id}' merges '${input}', which is not in the tree (nodes: ${[...byId.keys()].join(', ')})`);
      ensure(
        child.level < node.level,
        () => `merge tree of ${name}: node '${node.id}' (level ${node.level}) merges '${input}' (level ${child.level}); a merge is above its inputs`,
      );
      const other = parents.get(input);
      ensure(other === undefined, () => `merge tree of ${name}: '${input}' is merged into both '${other}' and '${node.id}'; each node has one parent`);
      parents.set(input, node.id);
    }
  }
  const root = tree[tree.length - 1]!;
  const orphans = tree.filter((n) => n !== root && !parents.has(n.id)).map((n) => n.id);
  ensure(orphans.length === 0, () => `merge tree of ${name}: ${orphans.join(', ')} not under the root '${root.id}'; the root is the last node`);
  return byId;
}

/** The leaves under `id`, left to right: each node's inputs in their stored order, so that no edges cross. */
function leavesUnder(id: string, byId: ReadonlyMap<string, TreeNode>): string[] {
  const node = byId.get(id)!;
  return node.inputs.length === 0 ? [id] : node.inputs.flatMap((input) => leavesUnder(input, byId));
}

/** Default figure size for `tree`: wide enough for every leaf's label, tall enough for every level. */
export function mergeTreeSize(tree: readonly TreeNode[]): DrawingSize {
  const leaves = tree.filter((n) => n.inputs.length === 0).length;
  const levels = Math.max(0, ...tree.map((n) => n.level));
  return {
    width: Math.max(FIGURE.width, MARGIN.left + MARGIN.right + leaves * LEAF_SLOT),
    height: MARGIN.top + MARGIN.bottom + LEAF.height + levels * LEVEL_SPACING,
  };
}

/** Accuracy as a node shows it, e.g. "93.40 %". */
function accuracyText(node: TreeNode): string {
  return `${toPercent(node.testAccuracy).toFixed(2)} %`;
}

/**
 * Places the nodes of `tree` in a `size` figure: leaves evenly along the bottom, each merge at its level
 * and centred over its inputs, edges as elbows from the top of an input up to the side of its merge.
 * `name` names the merge in errors about a malformed tree.
 */
export function mergeTreeLayout(tree: readonly TreeNode[], size: DrawingSize, name = 'this merge'): MergeTreeLayout {
  const byId = checkTree(tree, name);
  const root = tree[tree.length - 1]!;
  const leaves = leavesUnder(root.id, byId);
  const levels = root.level;
  const plotWidth = size.width - MARGIN.left - MARGIN.right;
  const slot = plotWidth / leaves.length;
  const bottomY = size.height - MARGIN.bottom - LEAF.height / 2;
  const topY = MARGIN.top + MERGE.height / 2;
  // Whole pixels, so that 2 px lines cover whole pixel columns and rows.
  const levelY = Array.from({ length: levels + 1 }, (_, l) => Math.round(levels === 0 ? bottomY : bottomY - ((bottomY - topY) * l) / levels));

  const boxes = new Map<string, TreeBox>();
  const place = (id: string): TreeBox => {
    const placed = boxes.get(id);
    if (placed) return placed;
    const node = byId.get(id)!;
    const leaf = node.inputs.length === 0;
    const x = leaf ? MARGIN.left + slot * (leaves.indexOf(id) + 0.5) : node.inputs.map((i) => place(i).x).reduce((a, b) => a + b, 0) / node.inputs.length;
    const box: TreeBox = {
      id,
      level: node.level,
      leaf,
      root: node === root,
      x: Math.round(x),
      y: levelY[node.level]!,
      width: Math.min(leaf ? LEAF.maxWidth : MERGE.maxWidth, Math.max(24, slot - BOX_GAP)),
      height: leaf ? LEAF.height : MERGE.height,
      lines: leaf ? [id, accuracyText(node)] : [accuracyText(node)],
    };
    boxes.set(id, box);
    return box;
  };
  place(root.id);

  const edges: TreeEdge[] = [];
  for (const node of tree) {
    const parent = boxes.get(node.id)!;
    for (const input of node.inputs) {
      const child = boxes.get(input)!;
      const start: [number, number] = [child.x, child.y - child.height / 2];
      // Straight up into the box when the input lies under it, else up to its middle and across to its side.
      const points: [number, number][] =
        Math.abs(child.x - parent.x) < parent.width / 2
          ? [start, [child.x, parent.y + parent.height / 2]]
          : [start, [child.x, parent.y], [parent.x + Math.sign(child.x - parent.x) * (parent.width / 2), parent.y]];
      edges.push({ from: input, to: node.id, fromLevel: child.level, toLevel: node.level, points });
    }
  }
  // Leaves first, the root last, as in metrics.json.
  return { ...size, boxes: tree.map((n) => boxes.get(n.id)!), edges, levelY };
}

/** Draws `layout` on `ctx`: title, level guides, edges, then boxes with their text on top. */
function drawTree(ctx: SKRSContext2D, layout: MergeTreeLayout, title: string, colour: string): void {
  ctx.fillStyle = TEXT_COLOUR;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.font = cssFont(FONT_SIZES.title, 'bold');
  ctx.fillText(title, layout.width / 2, 6);
  ctx.font = cssFont(FONT_SIZES.legend);
  ctx.fillText(SUBTITLE, layout.width / 2, 32);

  // A faint line and a name per level: an edge that crosses a line without a node there skips that level.
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  ctx.font = cssFont(FONT_SIZES.tick);
  layout.levelY.forEach((y, level) => {
    ctx.strokeStyle = GRID_COLOUR;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(MARGIN.left - 6, y + 0.5);
    ctx.lineTo(layout.width - MARGIN.right, y + 0.5);
    ctx.stroke();
    ctx.fillStyle = TEXT_COLOUR;
    ctx.fillText(level === 0 ? 'base models' : `level ${level}`, MARGIN.left - 10, y);
  });

  ctx.strokeStyle = AXIS_COLOUR;
  ctx.lineWidth = 2;
  for (const edge of layout.edges) {
    ctx.beginPath();
    edge.points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    ctx.stroke();
  }

  ctx.textAlign = 'center';
  for (const box of layout.boxes) {
    const stroke = box.leaf ? BASE_MODEL_COLOUR : colour;
    const left = box.x - box.width / 2;
    const top = box.y - box.height / 2;
    ctx.fillStyle = tint(stroke, box.leaf ? 0.25 : 0.18);
    ctx.fillRect(left, top, box.width, box.height);
    ctx.strokeStyle = stroke;
    // The root, the merged model the strategy delivers, stands out.
    ctx.lineWidth = box.root ? 3 : 1.5;
    ctx.strokeRect(left, top, box.width, box.height);
    ctx.fillStyle = TEXT_COLOUR;
    const lineHeight = FONT_SIZES.tick + 4;
    box.lines.forEach((line, i) => {
      ctx.font = cssFont(FONT_SIZES.tick, box.leaf && i === 0 ? 'bold' : 'normal');
      ctx.fillText(line, box.x, box.y + (i - (box.lines.length - 1) / 2) * lineHeight, box.width - 4);
    });
  }
}

/**
 * The tree of a hierarchical merge of N models (its `tree` in metrics.json): N base models along the
 * bottom with their names and accuracies, the N - 1 merges above them with theirs, the root (the merged
 * model) outlined thick. An odd model carried up a level shows as an edge crossing that level's line.
 *
 * @example
 * const figure = renderMergeTree(merge, { colour: variantColour(1) });
 * await writeFigure(dir, `merge-tree-${fileSlug(merge.label)}`, figure);
 */
export function renderMergeTree(merge: Pick<ManyMergeMetrics, 'label' | 'models' | 'tree'>, options: MergeTreeOptions = {}): MergeTreeFigure {
  const tree = merge.tree ?? [];
  ensure(tree.length > 0, `merge ${merge.label} (N = ${merge.models}) has no tree to draw; only hierarchical merges record one`);
  const natural = mergeTreeSize(tree);
  const size = { width: options.width ?? natural.width, height: options.height ?? natural.height };
  const layout = mergeTreeLayout(tree, size, `${merge.label} (N = ${merge.models})`);
  const title = options.title ?? `${merge.label}: merge tree of ${merge.models} models`;
  const figure = renderDrawing((ctx) => drawTree(ctx, layout, title, options.colour ?? variantColour(0)), size);
  return { ...figure, layout };
}
