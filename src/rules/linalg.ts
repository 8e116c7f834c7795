/** Derivative rule of the matrix product (src/ops/linalg.ts); dot and outer are composites. */
import { matmul } from '../ops/linalg.js';
import { transpose } from '../ops/movement.js';
import type { Rule } from './rule.js';
import { sumTo } from './util.js';

export const linalgRules: { matmul: Rule<'matmul'> } = {
  // batch dimensions may have broadcast: sum them back to each operand's shape
  matmul: (dy, [a, b], _y, _p, need) => [
    need[0] ? sumTo(matmul(dy, transpose(b)), a.shape) : null,
    need[1] ? sumTo(matmul(transpose(a), dy), b.shape) : null,
  ],
};
