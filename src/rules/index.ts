/**
 * Every primitive's derivative rule, one family per file, each named like the file in
 * src/ops/ that defines the operations. The annotation makes `tsc` fail when a primitive
 * has no rule.
 */
import type { RuleTable } from './rule.js';
import { elementwiseRules } from './elementwise.js';
import { reductionRules } from './reduce.js';
import { linalgRules } from './linalg.js';
import { movementRules } from './movement.js';
import { nnRules } from './nn.js';

export const rules: RuleTable = {
  ...elementwiseRules,
  ...reductionRules,
  ...linalgRules,
  ...movementRules,
  ...nnRules,
};

export type { Rule, RuleTable } from './rule.js';
export { unaryDerivative, binaryPartials } from './elementwise.js';
