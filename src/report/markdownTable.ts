/** A table in GitHub-flavoured markdown, as the reports' .md files write them. */

/** Escapes what would break a markdown table cell: pipes, and line breaks. */
export function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The lines of a markdown table: a header row, the alignment rule (numbers right-aligned), the rows. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string[] {
  const line = (cells: readonly string[]) => `| ${cells.map(markdownCell).join(' | ')} |`;
  return [line(header), `|${rightAligned.map((right) => (right ? ' ---: ' : ' --- ')).join('|')}|`, ...rows.map(line)];
}
