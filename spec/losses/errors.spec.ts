/**
 * Bad input to the losses: unequal shapes are a ShapeError naming the loss and both shapes
 * (never a broadcast: [B,1] against [B] would silently give a [B,B] loss), and bad options
 * are RangeErrors naming the loss and the option; the exact messages are asserted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ShapeError, Tensor, tensor,
  mse, mae, msle, huberLoss, poissonLoss, hingeLoss, squaredHingeLoss,
  crossentropy, logitCrossentropy, binaryCrossentropy, logitBinaryCrossentropy, kldivergence,
  focalLoss, binaryFocalLoss, diceCoeffLoss, labelSmoothing,
} from '../../src/index.js';

function throwsExactly(f: () => unknown, cls: new (...a: never[]) => Error, message: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  if (err === undefined) assert.unreachable(`expected ${cls.name}: ${message}; nothing was thrown`);
  assert.instance(err, cls, `error class of ${(err as Error).name}: ${(err as Error).message}`);
  assert.is((err as Error).message, message);
}

const LOSSES: [string, (a: any, b: any, o?: any) => Tensor][] = [
  ['mse', mse], ['mae', mae], ['msle', msle], ['huberLoss', huberLoss], ['poissonLoss', poissonLoss],
  ['hingeLoss', hingeLoss], ['squaredHingeLoss', squaredHingeLoss], ['crossentropy', crossentropy],
  ['logitCrossentropy', logitCrossentropy], ['binaryCrossentropy', binaryCrossentropy],
  ['logitBinaryCrossentropy', logitBinaryCrossentropy], ['kldivergence', kldivergence], ['focalLoss', focalLoss],
  ['binaryFocalLoss', binaryFocalLoss], ['diceCoeffLoss', diceCoeffLoss],
];

test('unequal shapes: ShapeError naming the loss and both shapes, for every loss', () => {
  const col = tensor([[0.5], [0.25], [0.75]]), vec = tensor([1, 0, 1]);
  for (const [name, f] of LOSSES) {
    throwsExactly(() => f(col, vec), ShapeError, `${name}: ŷ has shape [3,1] but y has shape [3]; they must be equal`);
    throwsExactly(() => f([[0.5, 0.5]], [[1, 0, 0]]), ShapeError, `${name}: ŷ has shape [1,2] but y has shape [1,3]; they must be equal`);
  }
});

test('agg: an unknown name is a RangeError', () => {
  for (const [name, f] of LOSSES) {
    throwsExactly(() => f([[0.5, 0.5]], [[1, 0]], { agg: 'avg' }), RangeError, `${name}: agg must be 'mean', 'sum', 'none' or a function, got "avg"`);
  }
});

test('options out of range: RangeErrors naming the option and the value', () => {
  const p = [[0.5, 0.5]], y = [[1, 0]];
  throwsExactly(() => huberLoss(p, y, { delta: 0 }), RangeError, 'huberLoss: delta must be a finite number > 0, got 0');
  throwsExactly(() => huberLoss(p, y, { delta: NaN }), RangeError, 'huberLoss: delta must be a finite number > 0, got NaN');
  throwsExactly(() => crossentropy(p, y, { eps: -1 }), RangeError, 'crossentropy: eps must be a finite number ≥ 0, got -1');
  throwsExactly(() => msle(p, y, { eps: Infinity }), RangeError, 'msle: eps must be a finite number ≥ 0, got Infinity');
  throwsExactly(() => binaryCrossentropy(p, y, { eps: '1e-7' as never }), RangeError, 'binaryCrossentropy: eps must be a finite number ≥ 0, got "1e-7"');
  throwsExactly(() => focalLoss(p, y, { gamma: -1 }), RangeError, 'focalLoss: gamma must be a finite number ≥ 0, got -1');
  throwsExactly(() => focalLoss(p, y, { alpha: -0.5 }), RangeError, 'focalLoss: alpha must be a finite number ≥ 0, got -0.5');
  throwsExactly(() => binaryFocalLoss(p, y, { alpha: 2 }), RangeError, 'binaryFocalLoss: alpha must be a finite number in [0, 1], got 2');
  throwsExactly(() => diceCoeffLoss(p, y, { smooth: 0 }), RangeError, 'diceCoeffLoss: smooth must be a finite number > 0, got 0');
  throwsExactly(() => labelSmoothing(y, 1.5), RangeError, 'labelSmoothing: α must be a finite number in [0, 1], got 1.5');
  throwsExactly(() => labelSmoothing(y, -0.1), RangeError, 'labelSmoothing: α must be a finite number in [0, 1], got -0.1');
});

test('class dimensions: out of range, repeated, or missing (0-d inputs)', () => {
  const p = [[0.5, 0.5]], y = [[1, 0]];
  throwsExactly(() => logitCrossentropy(p, y, { dims: 2 }), RangeError, 'logitCrossentropy: axis 2 is out of range for a 2-d tensor');
  throwsExactly(() => kldivergence(p, y, { dims: [1, -1] }), RangeError, 'kldivergence: axis 1 given twice');
  throwsExactly(() => diceCoeffLoss(p, y, { dims: -3 }), RangeError, 'diceCoeffLoss: axis -3 is out of range for a 2-d tensor');
  throwsExactly(() => crossentropy(0.5, 1), ShapeError, 'crossentropy: needs at least 1 dimension (the classes), got shape []');
  throwsExactly(() => logitCrossentropy(0.5, 1), ShapeError, 'logitCrossentropy: needs at least 1 dimension (the classes), got shape []');
  throwsExactly(() => labelSmoothing(1, 0.1), ShapeError, 'labelSmoothing: needs a class dimension, got shape []; pass { binary: true } for binary targets');
  throwsExactly(() => labelSmoothing(y, 0.1, { dims: 5 }), RangeError, 'labelSmoothing: axis 5 is out of range for a 2-d tensor');
  // a 0-d binary target is fine
  assert.is(labelSmoothing(1, 0.2, { binary: true }).item(), 0.9);
});

test('non-numeric input is a TypeError from the conversion, naming the loss', () => {
  throwsExactly(() => mse([[1, 'a' as never]], [[1, 2]]), TypeError, 'mse: element at [0][1] is string a, expected a number');
});

test.run();
