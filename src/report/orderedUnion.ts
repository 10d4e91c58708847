/**
 * The union of several ordered lists, keeping each list's order: how tables line up rows or columns
 * that only some of their sources have (a merge that only one run made, a merge method that only one
 * alignment was merged with).
 */

/**
 * Every item of `lists` once, in the first list's order; an item the earlier lists lack goes right
 * after the item it follows in its own list (first, if it leads its list).
 *
 * @example orderedUnion([['a', 'b', 'd'], ['a', 'c', 'd', 'e']]) // ['a', 'c', 'b', 'd', 'e']
 */
export function orderedUnion(lists: readonly (readonly string[])[]): string[] {
  const union: string[] = [];
  for (const list of lists) {
    let previous = -1;
    for (const item of list) {
      const at = union.indexOf(item);
      if (at >= 0) {
        previous = at;
        continue;
      }
      union.splice(previous + 1, 0, item);
      previous += 1;
    }
  }
  return union;
}
