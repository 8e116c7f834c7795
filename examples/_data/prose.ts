/** Plain text from the Markdown a package ships, for the character model (examples/char-rnn.ts and its check). */
/** The prose of a Markdown file: no code blocks, HTML, links' targets or URLs; lower case. */
export function prose(md: string): string {
  let inCode = false;
  const lines: string[] = [];
  for (const line of md.split('\n')) {
    if (line.startsWith('```')) { inCode = !inCode; continue; }
    if (inCode || line.trimStart().startsWith('<') || line.trimStart().startsWith('|')) continue;
    lines.push(line.replace(/<[^>]*>/g, '').replace(/\]\([^)]*\)/g, ']').replace(/https?:\S+/g, '').replace(/[[\]`*#_>]/g, ''));
  }
  return lines.join('\n').toLowerCase().replace(/[^a-z0-9 .,;:'()!?\n-]/g, '').replace(/\n{2,}/g, '\n').replace(/ {2,}/g, ' ');
}
