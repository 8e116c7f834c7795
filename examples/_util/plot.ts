/**
 * Loss curves for the examples: a small chart in the terminal (Unicode block characters) and
 * an SVG file. Kept out of the library: fluxion's `train` returns the history; drawing it is
 * the application's business.
 */

/** Mean of consecutive windows, so a curve of thousands of steps fits `width` columns. */
function downsample(ys: readonly number[], width: number): number[] {
  if (ys.length <= width) return ys.slice();
  const out: number[] = [];
  for (let c = 0; c < width; c++) {
    const a = Math.floor((c * ys.length) / width), b = Math.floor(((c + 1) * ys.length) / width);
    let s = 0;
    for (let i = a; i < b; i++) s += ys[i];
    out.push(s / (b - a));
  }
  return out;
}

/** A chart of `ys` (e.g. the loss per step) `height` rows tall, with the range on the left. */
export function terminalChart(ys: readonly number[], { width = 60, height = 8, title = '' } = {}): string {
  const v = downsample(ys, width);
  const lo = Math.min(...v), hi = Math.max(...v), span = hi - lo || 1;
  const levels = ' ▁▂▃▄▅▆▇█';
  const rows: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    let line = '';
    for (const y of v) {
      const fill = ((y - lo) / span) * height - r; // how much of this row the column covers
      line += levels[Math.max(0, Math.min(8, Math.round(fill * 8)))];
    }
    const label = r === height - 1 ? hi.toPrecision(3) : r === 0 ? lo.toPrecision(3) : '';
    rows.push(`${label.padStart(9)} │${line}`);
  }
  rows.push(`${''.padStart(9)} └${'─'.repeat(v.length)}`);
  return (title ? `${title}\n` : '') + rows.join('\n');
}

/** An SVG line chart of `ys` against the step number. */
export function svgChart(ys: readonly number[], { width = 640, height = 320, title = 'loss' } = {}): string {
  const pad = 40;
  const v = downsample(ys, width - 2 * pad);
  const lo = Math.min(...v), hi = Math.max(...v), span = hi - lo || 1;
  const pts = v.map((y, i) => `${(pad + (i * (width - 2 * pad)) / Math.max(1, v.length - 1)).toFixed(1)},${(height - pad - ((y - lo) / span) * (height - 2 * pad)).toFixed(1)}`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad}" y="24" font-family="sans-serif" font-size="14">${title} (${ys.length} steps)</text>`,
    `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="black"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="black"/>`,
    `<text x="4" y="${pad + 4}" font-family="sans-serif" font-size="11">${hi.toPrecision(3)}</text>`,
    `<text x="4" y="${height - pad}" font-family="sans-serif" font-size="11">${lo.toPrecision(3)}</text>`,
    `<polyline fill="none" stroke="steelblue" stroke-width="1.5" points="${pts.join(' ')}"/>`,
    `</svg>`,
  ].join('\n');
}
