import { aligners } from '../align/aligners.js';
import { mergeGroupColour, variantColour } from './theme.js';

/**
 * The colour of each alignment (by label) in every figure of a report: an alignment method's first
 * variant has the method's colour (its place among the registered aligners), so a method looks the
 * same everywhere; further variants and unknown methods take the colours after those; alignments
 * whose method is not known take the variant colours in order.
 */
export function alignmentColours(alignments: readonly { alignLabel: string; align?: string | undefined }[]): Map<string, string> {
  const methods = aligners.names();
  const taken = new Set<string>();
  let extra = methods.length;
  return new Map(
    alignments.map(({ alignLabel, align }, i) => {
      if (align === undefined) return [alignLabel, variantColour(i)];
      const first = methods.includes(align) && !taken.has(align);
      taken.add(align);
      return [alignLabel, mergeGroupColour(first ? methods.indexOf(align) : extra++)];
    }),
  );
}

