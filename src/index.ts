/**
 * fluxion: automatic differentiation and neural networks for TypeScript.
 * This file is the table of contents: every public name, grouped by family.
 * @packageDocumentation
 */

// Tensors: creation, conversion, random numbers
export { Tensor, type NestedNumbers, type Axes, type DeviceStorage } from './tensor/tensor.js';
export { tensor, fromData, type TensorLike, type TensorOptions } from './tensor/convert.js';
export {
  zeros, ones, fill, rand, randn, arange, eye,
  zerosLike, onesLike, fillLike, randLike, randnLike, type CreateOptions,
} from './tensor/create.js';
export { seed } from './tensor/random.js';
export { type DType, type FloatArray } from './tensor/dtype.js';
export { type Shape, ShapeError } from './tensor/shape.js';

// Elementwise operations
export {
  neg, exp, expm1, log, log1p, sqrt, abs, sign, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh,
  sigmoid, relu, softplus, erf,
  add, sub, mul, div, pow, maximum, minimum, atan2, mod,
  gt, ge, lt, le, eq, ne, where, clamp, astype,
  type UnaryFn, type BinaryFn,
} from './ops/elementwise.js';

// Reductions
export { sum, mean, prod, max, min, argmax, argmin, logsumexp, type ReduceOptions } from './ops/reduce.js';

// Linear algebra
export { matmul, dot, outer } from './ops/linalg.js';

// Shape operations
export {
  reshape, flatten, squeeze, unsqueeze, permute, transpose, broadcastTo,
  slice, index, concat, stack, pad, gather, scatterAdd, type SliceRange,
} from './ops/movement.js';

// Neural-network operations
export {
  softmax, logSoftmax, conv2d, convTranspose2d, maxPool2d, avgPool2d, oneHot,
  type Conv2dOptions, type ConvTranspose2dOptions, type Pool2dOptions,
} from './ops/nn.js';

// Automatic differentiation: everything is built on pullback
export {
  pullback, vjp, gradient, withGradient, jacobian, hessian, jvp, type Pullback,
  params, Params, Grads, type ParamLeaf,
  customGradient, stopGradient, ignoreGradient, nonTrainable, checkpoint,
  isTracked, primal, checkMutable,
} from './ad/index.js';

// Models and layers: a layer is a callable object whose fields are its parameters
export { Layer, layer, isLayer, layerLabel, type LayerClass, type LayerOf, type Forwarding } from './layers/layer.js';
export {
  Chain, compose, Dense, Parallel, SkipConnection, Maxout, Bilinear, Embedding, Flatten, Scale, identity,
  type Activation, type DenseOptions, type BilinearOptions, type EmbeddingOptions, type ScaleOptions,
} from './layers/basic.js';
export { showModel, layerChildren, layerHead } from './layers/show.js';
export {
  trainables, fmap, f32, f64, destructure, state, loadState, flattenState, freeze, thaw, isFrozen, tensorEntries,
  type TensorEntry, type StateTree,
} from './layers/tree.js';
export { gpu, cpu } from './layers/device.js';

// Convolution and pooling layers (NCHW)
export {
  Conv, ConvTranspose, DepthwiseConv, MaxPool, MeanPool, GlobalMaxPool, GlobalMeanPool, AdaptiveMeanPool, AdaptiveMaxPool, Upsample,
  type ConvOptions, type ConvTransposeOptions, type DepthwiseConvOptions, type PoolOptions, type UpsampleOptions,
  type ConvPadding, type SpatialPair,
} from './layers/conv.js';

// Attention
export {
  MultiHeadAttention, dotProductAttention, attentionWeights,
  type MultiHeadAttentionOptions, type AttentionCallOptions, type DotProductAttentionOptions,
} from './layers/attention.js';

// Debugging shapes; batches and sequences as lists
export { outputSize, summary, shapes, isShapeOnly, type OutputShape, type OutputSizeOptions } from './layers/debug.js';
export { Batch, Seq, rawbatch, isBatched, Batched, type BatchKind } from './layers/batch.js';

// Recurrence: cells, sequence layers, hidden state kept between calls
export {
  RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU, Recurrence, initialState, isCell,
  type Cell, type RecurrentState, type LSTMState, type CellOptions, type LSTMOptions, type GRUOptions,
  type SequenceOptions, type SequenceCallOptions,
} from './layers/recurrent.js';
export { stateful, reset, unroll, flip, Bidirectional, Stateful, Unroll, Flip, concatFeatures, type StatefulOptions } from './layers/stateful.js';

// Normalisation and regularisation; train/test mode
export {
  BatchNorm, LayerNorm, GroupNorm, InstanceNorm, Dropout, AlphaDropout, trainMode, testMode, autoMode,
  type BatchNormOptions, type InstanceNormOptions, type NormOptions, type DropoutOptions,
} from './layers/normalise.js';

// Activations and initialisers
export { relu6, leakyRelu, elu, selu, gelu, geluErf, swish, silu, mish, hardSigmoid, hardTanh, softsign, σ } from './layers/activations.js';
export {
  glorotUniform, glorotNormal, kaimingUniform, kaimingNormal, truncatedNormal, orthogonal, fans,
  type Initializer, type ConfigurableInitializer, type InitOptions, type RandomSource,
  type GlorotOptions, type KaimingOptions, type TruncatedNormalOptions, type OrthogonalOptions,
} from './layers/init.js';

// Losses: loss(ŷ, y, { agg, … }), class scores along the last dimension
export {
  mse, mae, msle, huberLoss, poissonLoss, hingeLoss, squaredHingeLoss,
  crossentropy, logitCrossentropy, binaryCrossentropy, logitBinaryCrossentropy, kldivergence,
  focalLoss, binaryFocalLoss, diceCoeffLoss, labelSmoothing,
  type Aggregation, type AggOptions, type DimsOptions, type EpsOptions,
  type HuberOptions, type FocalOptions, type DiceOptions, type LabelSmoothingOptions,
} from './losses/index.js';

// Training: optimiser rules are values, state is explicit and shaped like the model
export {
  Descent, Momentum, Nesterov, RMSProp, Rprop, Adam, AdamW, RAdam, NAdam, AdaMax, AMSGrad, AdaBelief, AdaGrad, AdaDelta, Lion,
  WeightDecay, SignDecay, ClipGrad, ClipNorm, AccumGrad, OptimiserChain,
  defineRule, isRule, showRule, type Rule, type RuleDefinition, type RuleFactory, type Hyperparameters, type HyperValue,
  type VelocityState, type MomentState, type RMSPropState, type RpropState, type AdaMaxState, type AMSGradState,
  type AdaBeliefState, type AdaGradState, type AdaDeltaState, type LionState, type AccumGradState, type ChainRule,
  type Pair, type AdamHyper,
  setup, update, adjust, freezeState, thawState, OptimiserState, StateLeaf, type OptimiserTree,
  optimiserState, loadOptimiserState, type SavedOptimiserState,
  stepDecay, exponentialDecay, cosineAnnealing, warmup, sequence, type Schedule,
  train, earlyStopping, throttle, NonFiniteError,
  type TrainOptions, type TrainLoss, type History, type EpochSummary, type StepInfo, type EpochInfo, type Callback, type ProgressStream,
} from './optimise/index.js';

// Data: mini-batches, one-hot labels, IDX files
export { DataLoader, type DataLoaderOptions, type Batchable } from './data/dataloader.js';
export { onehot, onehotbatch, onecold, type OnehotOptions } from './data/onehot.js';
export { readIDX, readIDXRaw, IDXError, type IDXType, type IDXContents, type ReadIDXOptions } from './data/idx.js';

// Saving: models as safetensors files keyed by path; the format's bytes anywhere, files in Node
export { saveModel, loadModel, modelBytes, type SaveOptions, type LoadOptions, type Loaded } from './io/model.js';
export {
  encodeSafetensors, decodeSafetensors, SafetensorsError, SAFETENSORS_MAX_HEADER,
  type SafetensorsContents, type SafetensorsDType,
} from './io/safetensors.js';
export { writeSafetensorsFile, readSafetensorsFile, readFileBytes } from './io/node.js';

// Primitives and backends
export type { Primitive, PrimitiveParams } from './ops/primitive.js';
export {
  setBackend, getBackend, backendInfo, backendReady,
  type BackendName, type BackendInfo, type SetBackendOptions, type DeviceMode,
} from './backend/index.js';
