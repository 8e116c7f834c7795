/**
 * Generates the WebAssembly SIMD module of the optimisers' float32 updates (f32x4).
 *
 * Descent: `descent_f32(x, g, nvec, eta)`: x −= η·g, four at a time.
 *
 * Adam: for each group of four parameters
 *   m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  step = ((m·c₁) / (√(v·c₂) + ε))·η
 * and then x −= step (mode 0) or x = step (mode 1, the step itself is wanted). c₁ = 1/(1−β₁ᵗ)
 * and c₂ = 1/(1−β₂ᵗ) are the bias corrections, computed by the caller. The scalar loop does
 * the same arithmetic in float64 with one sqrt and one division per element; here both are
 * four-wide in float32 (the dtype of the values), so results differ from it by roundings.
 *
 * Export `adam_f32(x, g, m, v, nvec, b1, b2, d1, d2, c1, c2, eps, eta, mode)`: addresses in
 * bytes (16-byte aligned), `nvec` groups of four, hyperparameters as f32.
 *
 * @module
 */
import { FunctionBuilder, ModuleBuilder, ValType } from './assembler.js';

const { i32, f32, v128 } = ValType;

function adamF32(): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, f32, f32, f32, f32, f32, f32, f32, f32, i32], []);
  const [X, G, M, V, NVEC, B1, B2, D1, D2, C1, C2, EPS, ETA, MODE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;
  const splat = (p: number): number => {
    const l = f.local(v128);
    f.get(p).f32x4Splat().set(l);
    return l;
  };
  const b1 = splat(B1), b2 = splat(B2), d1 = splat(D1), d2 = splat(D2), c1 = splat(C1), c2 = splat(C2), eps = splat(EPS), eta = splat(ETA);
  const g = f.local(v128), m = f.local(v128), v = f.local(v128), step = f.local(v128);
  const i = f.local(i32);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(NVEC).i32GeS().brIf(1);
  f.get(G).v128Load().set(g);
  // m = b1·m + d1·g
  f.get(b1).get(M).v128Load().f32x4Mul().get(d1).get(g).f32x4Mul().f32x4Add().set(m);
  // v = b2·v + d2·g·g (as the scalar loop: (d2·g)·g)
  f.get(b2).get(V).v128Load().f32x4Mul().get(d2).get(g).f32x4Mul().get(g).f32x4Mul().f32x4Add().set(v);
  f.get(M).get(m).v128Store();
  f.get(V).get(v).v128Store();
  // step = ((m·c1) / (sqrt(v·c2) + eps))·eta
  f.get(m).get(c1).f32x4Mul();
  f.get(v).get(c2).f32x4Mul().f32x4Sqrt().get(eps).f32x4Add();
  f.f32x4Div().get(eta).f32x4Mul().set(step);
  f.get(X);
  f.get(MODE).if(v128);
  f.get(step);
  f.else();
  f.get(X).v128Load().get(step).f32x4Sub();
  f.end();
  f.v128Store();
  f.inc(X, 16).inc(G, 16).inc(M, 16).inc(V, 16).inc(i, 1);
  f.br(0).end().end();
  return f;
}

function descentF32(): FunctionBuilder {
  const f = new FunctionBuilder([i32, i32, i32, f32], []);
  const [X, G, NVEC, ETA] = [0, 1, 2, 3] as const;
  const eta = f.local(v128), i = f.local(i32);
  f.get(ETA).f32x4Splat().set(eta);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(NVEC).i32GeS().brIf(1);
  f.get(X).get(X).v128Load().get(eta).get(G).v128Load().f32x4Mul().f32x4Sub().v128Store();
  f.inc(X, 16).inc(G, 16).inc(i, 1);
  f.br(0).end().end();
  return f;
}

/** Build the module bytes. The memory is imported as `env.memory`. */
export function buildUpdateModule(memory: { shared: boolean; maxPages: number }): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', minPages: 1, maxPages: memory.maxPages, shared: memory.shared });
  mod.addFunction(adamF32(), 'adam_f32');
  mod.addFunction(descentF32(), 'descent_f32');
  return mod.toBytes();
}
