/**
 * Which merges of a run directory belong to one point of a sweep. Points with the same base models
 * share a run directory, whose metrics.json lists every point's merges, each with the settings its
 * stages recorded; a point's merges are those recorded with exactly the alignment and merge settings
 * that its recipe gives the stages.
 */

import type { Alignment } from '../artifacts/checkpoint.js';
import type { MergeMetrics } from '../artifacts/metrics.js';
import { datasets } from '../data/registry.js';
import { families } from '../nn/families.js';
import { alignSettings, mergeSettings } from '../recipe/methodSettings.js';
import type { Recipe } from '../recipe/schema.js';
import { compareMerges, LABEL_SEPARATOR } from '../report/rows.js';
import { variantLabels } from '../report/variantLabels.js';
import { alignmentOf } from '../stages/alignStage.js';
import { InputError } from '../util/errors.js';
import { canonical } from '../util/hash.js';

/** One merge a point's recipe makes: how the point names it, and the settings its stages record. */
export interface PointVariant {
  /** "cca · uniform": labelled among the point's own variants, so that one variant has one name in every grid cell. */
  label: string;
  /** The alignment as the aligned checkpoint records it (see alignmentOf). */
  align: Alignment;
  /** The merge method and its options (with its alpha init's), as the merge stage records them. */
  merge: { method: string; options: Record<string, unknown> };
}

/**
 * The merges of model B aligned to model A that `recipe` makes: each alignment method with each merge
 * method, with the settings the align and merge stages record. The architecture is built from the
 * recipe (no weights) for what the recorded alignment depends on: whether there is BatchNorm.
 */
export function pointVariants(recipe: Recipe): PointVariant[] {
  const dataset = datasets.get(recipe.data.dataset);
  const family = families.get(recipe.model.family);
  const spec = family.build(family.configSchema.parse(recipe.model.config), dataset.inputShape, dataset.numClasses);
  const alignments = recipe.align.methods.map((method) => alignmentOf(alignSettings(method, recipe), spec));
  const merges = recipe.merge.alphas.map((alpha) => ({ method: alpha, options: mergeSettings(alpha, recipe).options }));
  // As the run labels them (runRecipe), so that a sweep of one point names its merges as its run does.
  const alignLabels = variantLabels(alignments);
  const mergeLabels = variantLabels(merges);
  return alignments.flatMap((align, a) => merges.map((merge, m) => ({ label: `${alignLabels[a]}${LABEL_SEPARATOR}${mergeLabels[m]}`, align, merge })));
}

/** Whether two settings records are equal as JSON holds them: keys in any order, undefined fields absent. */
function sameSettings(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** A merge of a point: the point's name for it, and its entry in the run directory's metrics.json. */
export interface PointMerge {
  label: string;
  merge: MergeMetrics;
}

/**
 * The entries of `merges` (a run directory's) that `variants` (a point's) made, one per variant,
 * ordered as run reports order merges. Merges recorded without settings (files of old versions)
 * belong to no point.
 * @throws InputError naming `where` when a variant has no merge (its run has not finished) or several
 * that metrics.json cannot tell apart.
 */
export function pointMerges(merges: readonly MergeMetrics[], variants: readonly PointVariant[], where: string): PointMerge[] {
  const found = variants.map((variant) => {
    const matches = merges.filter((m) => m.settings !== undefined && sameSettings(m.settings.align, variant.align) && sameSettings(m.settings.merge, variant.merge));
    if (matches.length === 0) throw new InputError(`${where}: its metrics.json has no merge ${variant.label} with the point's settings; run the point first (merge-train sweep submit)`);
    if (matches.length > 1) {
      const labels = matches.map((m) => m.label ?? m.key ?? m.alpha).join(', ');
      throw new InputError(`${where}: ${matches.length} merges have the settings of ${variant.label} (${labels}); metrics.json does not record what tells them apart`);
    }
    return { label: variant.label, merge: matches[0]! };
  });
  return found.sort((a, b) => compareMerges(a.merge, b.merge));
}
