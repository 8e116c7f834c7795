/** The shape of a derivative rule. */
import type { Primitive, PrimitiveParams } from '../ops/primitive.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The reverse rule of primitive `P`: given the output's cotangent `dy`, the inputs and the
 * output (values one level down: possibly traced by an enclosing gradient), and the
 * primitive's parameters, return one cotangent per input (null where the input carries
 * none). `need[i]` is false for inputs no gradient is wanted for: skip their work.
 * Rules are written with the library's operations, so they can be differentiated again.
 */
export type Rule<P extends Primitive> = (
  dy: Tensor, inputs: Tensor[], output: Tensor, params: PrimitiveParams[P], need: readonly boolean[],
) => (Tensor | null)[];

/** One rule per primitive: `tsc` fails when a primitive has none. */
export type RuleTable = { [P in Primitive]: Rule<P> };
