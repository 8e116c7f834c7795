/**
 * A seedable random generator (xoshiro128**), so results can be reproduced with {@link seed}.
 * Uniform doubles use 53 random bits; normals use the Box–Muller transform.
 */
class Xoshiro128 {
  private s = new Uint32Array(4);
  private spare: number | undefined;

  constructor(seed: number) {
    this.reseed(seed);
  }

  reseed(seed: number): void {
    // splitmix32 expands one seed into four non-zero state words
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      this.s[i] = (t ^ (t >>> 16)) >>> 0;
    }
    this.spare = undefined;
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits of randomness. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [0, 1) on the float32 grid (24 random bits), so rounding to float32 never gives 1. */
  uniform32(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform(); // log(0) would give -Infinity
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The generator behind `rand`, `randn` and layer initialisers. @internal */
export const rng = new Xoshiro128(Date.now() ^ 0x5eed);

/** Reseed the global random generator so later `rand`/`randn` calls repeat exactly. */
export function seed(n: number): void {
  if (!Number.isFinite(n)) throw new TypeError(`seed: expected a finite number, got ${n}`);
  rng.reseed(n);
}
