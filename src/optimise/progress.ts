/**
 * The progress bar `train` draws on a terminal: one line per epoch, redrawn in place at most
 * ten times a second, with the running mean loss, throughput and time left.
 */

/** Where the bar is drawn: `process.stdout`, or anything with `write` (and `columns`). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly columns?: number;
}

/**
 * The stream to draw on, or undefined to stay quiet: only when asked (not `false`), in Node,
 * on a TTY, and not in CI (the `CI` environment variable unset, empty, `0` or `false`).
 */
export function progressStream(option: boolean | undefined, proc: unknown = (globalThis as { process?: unknown }).process): ProgressStream | undefined {
  if (option === false) return undefined;
  const p = proc as { stdout?: { isTTY?: boolean; write?: unknown }; env?: Record<string, string | undefined> } | undefined;
  if (p === undefined || p === null || typeof p !== 'object') return undefined;
  const out = p.stdout;
  if (out === undefined || out.isTTY !== true || typeof out.write !== 'function') return undefined;
  const ci = p.env?.CI;
  if (ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false') return undefined;
  return out as ProgressStream;
}

/** `1,234` */
function grouped(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `0:07`, `12:34`, `1:02:03` */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (v: number): string => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

/** The text of one progress line (without the carriage return). */
export function progressLine(p: {
  epoch: number; epochs: number; steps: number; total: number | undefined; samples: number; loss: number; ms: number; done: boolean; width: number;
}): string {
  const rate = p.ms > 0 ? (p.samples * 1000) / p.ms : 0;
  const head = `Epoch ${p.epoch}/${p.epochs}`;
  const tail = [`loss ${formatLoss(p.loss)}`, `${grouped(rate)} samples/s`];
  if (p.done) tail.push(`${(p.ms / 1000).toFixed(1)}s`);
  else if (p.total !== undefined && p.steps > 0) tail.push(`ETA ${clock(((p.total - p.steps) * p.ms) / p.steps / 1000)}`);
  let middle: string;
  if (p.total !== undefined && p.total > 0) {
    const frac = Math.min(1, p.steps / p.total);
    const count = `${String(p.steps).padStart(String(p.total).length)}/${p.total}`;
    const pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
    const fixed = head.length + count.length + pct.length + tail.join('  ').length + 8;
    const barWidth = Math.max(10, Math.min(30, p.width - fixed));
    const full = Math.round(frac * barWidth);
    middle = `${'█'.repeat(full)}${'░'.repeat(barWidth - full)} ${pct}  ${count}`;
  } else middle = `${p.steps} steps`;
  const line = `${head}  ${middle}  ${tail.join('  ')}`;
  return line.length > p.width ? line.slice(0, Math.max(0, p.width)) : line;
}

function formatLoss(l: number): string {
  if (!Number.isFinite(l)) return String(l);
  const a = Math.abs(l);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? l.toExponential(3) : l.toPrecision(4);
}

/** A per-epoch progress bar on a stream. */
export class ProgressBar {
  private epoch = 0;
  private epochs = 0;
  private total: number | undefined;
  private lastDraw = -Infinity;
  private open = false;

  constructor(private readonly stream: ProgressStream) {}

  /** Begin an epoch's line. */
  start(epoch: number, epochs: number, total: number | undefined): void {
    this.epoch = epoch;
    this.epochs = epochs;
    this.total = total;
    this.lastDraw = -Infinity;
  }

  /** Redraw (at most every 100 ms). */
  tick(steps: number, samples: number, loss: number, ms: number): void {
    if (ms - this.lastDraw < 100) return;
    this.lastDraw = ms;
    this.draw(steps, samples, loss, ms, false);
  }

  /** Draw the epoch's final line and move to the next line. */
  end(steps: number, samples: number, loss: number, ms: number): void {
    this.draw(steps, samples, loss, ms, true);
    this.stream.write('\n');
    this.open = false;
  }

  /** End an unfinished line (training stopped by an error). */
  close(): void {
    if (this.open) this.stream.write('\n');
    this.open = false;
  }

  private draw(steps: number, samples: number, loss: number, ms: number, done: boolean): void {
    const width = Math.max(20, (this.stream.columns ?? 100) - 1);
    const line = progressLine({ epoch: this.epoch, epochs: this.epochs, steps, total: this.total, samples, loss, ms, done, width });
    this.stream.write(`\r${line}\x1b[K`);
    this.open = true;
  }
}
