/**
 * Schedules: functions from the step number (0 for the first step) to a hyperparameter's
 * value, usually the learning rate. `train(…, { schedule })` applies one on every step;
 * by hand, `adjust(opt, { eta: schedule(step) })`. They compose: {@link warmup} and
 * {@link sequence} take schedules (or constants) and return schedules.
 */

/** A hyperparameter as a function of the step number (0-based). */
export type Schedule = (step: number) => number;

function positive(op: string, key: string, v: unknown, integer = false): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new RangeError(`${op}: ${key} must be a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  }
  return v;
}

function finite(op: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${op}: ${key} must be a finite number, got ${String(v)}`);
  return v;
}

function checkStep(op: string, t: number): void {
  if (!Number.isInteger(t) || t < 0) throw new RangeError(`${op}: the step must be an integer ≥ 0, got ${t}`);
}

const asSchedule = (op: string, s: Schedule | number): Schedule => {
  if (typeof s === 'number') { finite(op, 'value', s); return () => s; }
  if (typeof s !== 'function') throw new TypeError(`${op}: expected a schedule (a function of the step) or a number, got ${typeof s}`);
  return s;
};

/**
 * `init · decay^⌊t / every⌋`: multiply by `decay` every `every` steps.
 * ```ts
 * stepDecay({ init: 0.1, decay: 0.5, every: 1000 })
 * ```
 */
export function stepDecay({ init, decay, every }: { init: number; decay: number; every: number }): Schedule {
  const op = 'stepDecay';
  finite(op, 'init', init); positive(op, 'decay', decay); positive(op, 'every', every, true);
  return (t) => { checkStep(op, t); return init * decay ** Math.floor(t / every); };
}

/** `max(init · decay^t, min)`: multiply by `decay` on every step (down to `min`, default 0). */
export function exponentialDecay({ init, decay, min = 0 }: { init: number; decay: number; min?: number }): Schedule {
  const op = 'exponentialDecay';
  finite(op, 'init', init); positive(op, 'decay', decay); finite(op, 'min', min);
  return (t) => { checkStep(op, t); return Math.max(init * decay ** t, min); };
}

/**
 * Cosine annealing from `max` down to `min` (default 0) over `period` steps:
 * `min + (max - min) · (1 + cos(π t / period)) / 2`. After the period it stays at `min`, or
 * with `restart: true` starts again from `max` (SGDR's warm restarts).
 */
export function cosineAnnealing({ max, min = 0, period, restart = false }: { max: number; min?: number; period: number; restart?: boolean }): Schedule {
  const op = 'cosineAnnealing';
  finite(op, 'max', max); finite(op, 'min', min); positive(op, 'period', period, true);
  return (t) => {
    checkStep(op, t);
    const u = restart ? t % period : Math.min(t, period);
    return min + ((max - min) * (1 + Math.cos((Math.PI * u) / period))) / 2;
  };
}

/**
 * A linear warm-up of `steps` steps into `schedule` (a schedule or a constant): the value
 * rises as `schedule(0) · (t + 1) / steps` for `t < steps`, then follows `schedule` from its
 * own step 0 (`schedule(t - steps)`).
 * ```ts
 * warmup(500, cosineAnnealing({ max: 1e-3, period: 10_000 }))
 * ```
 */
export function warmup(steps: number, schedule: Schedule | number): Schedule {
  const op = 'warmup';
  positive(op, 'steps', steps, true);
  const s = asSchedule(op, schedule);
  return (t) => { checkStep(op, t); return t < steps ? (s(0) * (t + 1)) / steps : s(t - steps); };
}

/**
 * Schedules one after another: `sequence([s1, n1], [s2, n2], …, last)` follows `s1` for
 * `n1` steps, then `s2` (from its own step 0) for `n2` steps, …, then `last` for ever.
 * Each part may be a schedule or a constant.
 */
export function sequence(...parts: (readonly [Schedule | number, number] | Schedule | number)[]): Schedule {
  const op = 'sequence';
  if (parts.length === 0) throw new TypeError(`${op}: expected at least one schedule`);
  const spans = parts.slice(0, -1).map((p, i) => {
    if (!Array.isArray(p)) throw new TypeError(`${op}: part ${i + 1} must be [schedule, steps] (only the last may be a bare schedule)`);
    return [asSchedule(op, p[0]), positive(op, `the steps of part ${i + 1}`, p[1], true)] as const;
  });
  const tail = parts[parts.length - 1];
  const last = asSchedule(op, Array.isArray(tail) ? tail[0] : (tail as Schedule | number));
  return (t) => {
    checkStep(op, t);
    let u = t;
    for (const [s, n] of spans) {
      if (u < n) return s(u);
      u -= n;
    }
    return last(u);
  };
}
