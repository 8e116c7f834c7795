/**
 * Optimisers in Optimisers.jl's design (rules are values, state is explicit and walks the
 * model), schedules, and the training loop.
 */
export {
  defineRule, isRule, showRule,
  type Rule, type RuleDefinition, type RuleFactory, type Hyperparameters, type HyperValue,
} from './rule.js';
export {
  Descent, Momentum, Nesterov, RMSProp, Rprop, Adam, AdamW, RAdam, NAdam, AdaMax, AMSGrad, AdaBelief,
  AdaGrad, AdaDelta, Lion,
  type VelocityState, type MomentState, type RMSPropState, type RpropState, type AdaMaxState,
  type AMSGradState, type AdaBeliefState, type AdaGradState, type AdaDeltaState, type LionState, type Pair, type AdamHyper,
} from './rules.js';
export { WeightDecay, SignDecay, ClipGrad, ClipNorm, AccumGrad, OptimiserChain, type AccumGradState, type ChainRule } from './composite.js';
export { setup, update, adjust, freezeState, thawState, OptimiserState, StateLeaf, type OptimiserTree } from './setup.js';
export { optimiserState, loadOptimiserState, type SavedOptimiserState } from './state.js';
export { stepDecay, exponentialDecay, cosineAnnealing, warmup, sequence, type Schedule } from './schedules.js';
export {
  train, earlyStopping, throttle, NonFiniteError,
  type TrainOptions, type TrainLoss, type History, type EpochSummary, type StepInfo, type EpochInfo, type Callback,
} from './train.js';
export { type ProgressStream } from './progress.js';
