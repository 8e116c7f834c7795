/**
 * Temporary bridge to the AD core while `src/ad/index.ts` is being written: the runtime
 * imports the contract names (`isTracked`, `primal`, `checkMutable`, `tracingDepth`) from
 * here. Delete this file and import from `../ad/index.js` once that module exports them.
 * @internal
 */
export { isTracked, primal } from '../ad/tracked.js';
export { checkMutable, tracingDepth } from '../ad/tape.js';
