/** Automatic differentiation: reverse mode over a runtime tape, nested to any order. */
import './trace.js';

export { pullback, vjp, gradient, withGradient, jacobian, hessian, jvp, type Pullback } from './pullback.js';
export { params, Params, Grads, type ParamLeaf } from './params.js';
export { customGradient, stopGradient, ignoreGradient } from './custom.js';
export { nonTrainable } from './structure.js';
export { isTracked, primal } from './tracked.js';
export { checkMutable, tracingDepth, TrackedNumber } from './tape.js';
export { TrackedTensor } from './tracked.js';
export { checkpoint } from './checkpoint.js';
