/**
 * Loss functions in Flux's conventions, batch-first: `loss(ŷ, y, { agg, … })` with ŷ the
 * prediction and y the target, of equal shapes (a mismatch is a ShapeError, never a silent
 * broadcast); class scores along the last dimension. Each is a composition of differentiable
 * operations, so gradients of any order come from the AD.
 */
export { type Aggregation, type AggOptions, type DimsOptions, type EpsOptions } from './common.js';
export { mse, mae, msle, huberLoss, poissonLoss, hingeLoss, squaredHingeLoss, type HuberOptions } from './regression.js';
export {
  crossentropy, logitCrossentropy, binaryCrossentropy, logitBinaryCrossentropy, kldivergence,
  focalLoss, binaryFocalLoss, diceCoeffLoss, labelSmoothing,
  type FocalOptions, type DiceOptions, type LabelSmoothingOptions,
} from './classification.js';
