import { describe, expect, it } from 'vitest';

import type { TreeNode } from '../../src/artifacts/metrics.js';
import { mergeTreeLayout, mergeTreeSize, renderMergeTree } from '../../src/report/mergeTree.js';
import { AXIS_COLOUR, BASE_MODEL_COLOUR, FIGURE, TEXT_COLOUR, tint, variantColour } from '../../src/report/theme.js';
import { InputError } from '../../src/util/errors.js';
import { sampleTree } from './fixtures.js';
import { decodePng, hasColour, isColour, looksLikeSvg, pixelAt, shapesIn, svgShapes } from './pixels.js';

const LEAF_FILL = tint(BASE_MODEL_COLOUR, 0.25);
const colour = variantColour(2);
const MERGE_FILL = tint(colour, 0.18);

describe('mergeTreeLayout', () => {
  it('puts N leaves along the bottom and N - 1 merges above their inputs, joined by 2 (N - 1) edges', () => {
    for (const n of [2, 3, 4, 5, 8]) {
      const tree = sampleTree(n, 0.9);
      const layout = mergeTreeLayout(tree, mergeTreeSize(tree));
      const leaves = layout.boxes.filter((b) => b.leaf);
      const merges = layout.boxes.filter((b) => !b.leaf);
      expect(leaves, `N = ${n}`).toHaveLength(n);
      expect(merges, `N = ${n}`).toHaveLength(n - 1);
      expect(layout.edges, `N = ${n}`).toHaveLength(2 * (n - 1));
      expect(new Set(leaves.map((b) => b.y)).size).toBe(1);
      // Leaves left to right in the order of the tree: model 1 first.
      expect(leaves.map((b) => b.id)).toEqual([...leaves].sort((a, b) => a.x - b.x).map((b) => b.id));
      const byId = new Map(layout.boxes.map((b) => [b.id, b]));
      for (const edge of layout.edges) {
        expect(byId.get(edge.to)!.y).toBeLessThan(byId.get(edge.from)!.y);
        expect(edge.toLevel).toBeGreaterThan(edge.fromLevel);
      }
      const root = layout.boxes[layout.boxes.length - 1]!;
      expect(root.root).toBe(true);
      expect(root.y).toBe(Math.min(...layout.boxes.map((b) => b.y)));
    }
  });

  it('shows a model carried up unmerged as an edge that skips levels, only when N is not a power of two', () => {
    const skips = (n: number) => {
      const tree = sampleTree(n, 0.9);
      return mergeTreeLayout(tree, mergeTreeSize(tree)).edges.filter((e) => e.toLevel - e.fromLevel > 1);
    };
    expect(skips(8)).toEqual([]);
    expect(skips(5).map((e) => [e.from, e.fromLevel, e.toLevel])).toEqual([['model 5', 0, 3]]);
    expect(skips(3).map((e) => [e.from, e.fromLevel, e.toLevel])).toEqual([['model 3', 0, 2]]);
  });

  it('refuses trees that are not trees, naming the node and the fix', () => {
    const tree = sampleTree(4, 0.9);
    const unknown = tree.map((n): TreeNode => (n.id === 'merge L1.1' ? { ...n, inputs: ['model 1', 'model 9'] } : n));
    expect(() => mergeTreeLayout(unknown, { width: 900, height: 400 }, 'v')).toThrow(/'merge L1.1' merges 'model 9', which is not in the tree/);
    const downward = tree.map((n): TreeNode => (n.id === 'merge L1.1' ? { ...n, level: 0 } : n));
    expect(() => mergeTreeLayout(downward, { width: 900, height: 400 })).toThrow(InputError);
    const twice = [...tree.slice(0, -1), { ...tree[tree.length - 1]!, inputs: ['merge L1.1', 'merge L1.1'] }];
    expect(() => mergeTreeLayout(twice, { width: 900, height: 400 })).toThrow(/each node has one parent/);
    expect(() => mergeTreeLayout([], { width: 900, height: 400 })).toThrow(InputError);
  });

  it('widens the figure for many leaves', () => {
    expect(mergeTreeSize(sampleTree(4, 0.9)).width).toBe(FIGURE.width);
    expect(mergeTreeSize(sampleTree(16, 0.9)).width).toBeGreaterThan(FIGURE.width);
    expect(mergeTreeSize(sampleTree(16, 0.9)).height).toBeGreaterThan(mergeTreeSize(sampleTree(4, 0.9)).height);
  });
});

describe('renderMergeTree', () => {
  const merge = { label: 'hierarchical · cca · learned', models: 5, tree: sampleTree(5, 0.9123) };
  const figure = renderMergeTree(merge, { colour });
  const { layout } = figure;

  it('paints every box in its colour and the edges between them', async () => {
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([layout.width, layout.height]);
    for (const box of layout.boxes) {
      // Inside the box, left of its centred text.
      const inside = pixelAt(pixels, box.x - box.width / 2 + 4, box.y);
      expect(hasColour(inside, box.leaf ? LEAF_FILL : MERGE_FILL), box.id).toBe(true);
    }
    // The root's thick outline covers whole pixels.
    const root = layout.boxes[layout.boxes.length - 1]!;
    expect(hasColour(pixelAt(pixels, root.x - root.width / 2, root.y), colour)).toBe(true);
    for (const edge of layout.edges) {
      const [[x, y0], [, y1]] = edge.points as [[number, number], [number, number]];
      expect(hasColour(pixelAt(pixels, x, (y0 + y1) / 2), AXIS_COLOUR), `${edge.from} → ${edge.to}`).toBe(true);
    }
  });

  it('draws the carried model as one edge through the levels it skips', async () => {
    const pixels = await decodePng(figure.png);
    const carried = layout.boxes.find((b) => b.id === 'model 5')!;
    for (const level of [1, 2]) {
      expect(layout.boxes.some((b) => b.level === level && Math.abs(b.x - carried.x) < b.width / 2)).toBe(false);
      expect(hasColour(pixelAt(pixels, carried.x, layout.levelY[level]!), AXIS_COLOUR), `level ${level}`).toBe(true);
    }
  });

  it('writes the same tree as SVG: a rectangle per node, a path per edge, text as paths', () => {
    expect(looksLikeSvg(figure.svg)).toBe(true);
    const svg = figure.svg.toString('utf8');
    expect(svg).not.toMatch(/<text\b/);
    expect(shapesIn(figure.svg, LEAF_FILL).filled).toHaveLength(5);
    expect(shapesIn(figure.svg, MERGE_FILL).filled).toHaveLength(4);
    expect(shapesIn(figure.svg, AXIS_COLOUR).stroked).toHaveLength(8);
    // The root outlined thicker than the other merges.
    expect(shapesIn(figure.svg, colour).stroked.map((s) => s.attrs['stroke-width']).sort()).toEqual(['1.5', '1.5', '1.5', '3']);
    // Title, subtitle, 4 level names, 2 lines per leaf and one per merge.
    const text = svgShapes(figure.svg).filter((s) => s.tag === 'path' && isColour(s.attrs.fill, TEXT_COLOUR));
    expect(text.length).toBeGreaterThanOrEqual(2 + 4 + 2 * 5 + 4);
  });

  it('refuses a merge without a tree', () => {
    expect(() => renderMergeTree({ label: 'all-to-one · cca · learned', models: 4 })).toThrow(/has no tree to draw/);
  });
});
