/** Special functions JavaScript's Math lacks, accurate to a few ulps in float64. */

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;

/**
 * The error function. For |x| < 2 a series with only positive terms
 * (erf x = 2/√π · e^{-x²} · Σ (2x²)ⁿ x / (1·3·…·(2n+1))), so nothing cancels; beyond, the
 * continued fraction for erfc (modified Lentz), which converges fast there.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= 6) return x > 0 ? 1 : -1; // erfc(6) < 3e-17: 1 to double precision
  if (a < 2) {
    const x2 = 2 * a * a;
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    const r = TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
    return x < 0 ? -r : r;
  }
  const r = 1 - erfcLarge(a);
  return x < 0 ? -r : r;
}

/** erfc(x) for x ≥ 2: e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))). */
function erfcLarge(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    d = x + an * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + an / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}
