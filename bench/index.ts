/**
 * `npm run bench` — fluxion against TensorFlow.js (CPU and wasm backends), measured in one
 * run on the same inputs, printed as one table.
 *
 *   npm run bench                 every section
 *   npm run bench -- matmul sum   only cases whose "section name" contains a term
 *
 * To add a section: write `bench/<section>.ts` exporting `async (filter: Filter) => Row[]`
 * (usually by describing `BenchCase`s and calling `runCases`, see bench/harness.ts) and
 * add it to `SECTIONS` below. The autodiff (bench/ad.ts) and operator-transform
 * (bench/transform.ts) sections have columns of their own and print their own tables after
 * the tensor table (`npm run bench -- autodiff`, `npm run bench -- transform`).
 *
 * @module
 */
import { gemmThreadPool } from '../src/backend/cpu/gemm.js';
import { type Filter, type Row, describeMachine, formatTable, makeFilter } from './harness.js';
import { benchTensor } from './tensor.js';
import { benchAd } from './ad.js';
import { runTransformBench } from './transform.js';
import { benchTrain } from './train.js';

const SECTIONS: { name: string; run: (filter: Filter) => Promise<Row[]> }[] = [
  { name: 'tensor', run: benchTensor },
  { name: 'train', run: benchTrain },
];

const filter = makeFilter(process.argv.slice(2));
// Start fluxion's worker pool before timing (it otherwise starts in the background on first use).
gemmThreadPool()?.waitReady();

const header = [
  ...(await describeMachine()),
  'Each value is the median over repeated calls after warm-up; fluxion and TF.js-wasm are sampled alternately in the same process.',
  'A call includes reading the result back to a JS typed array (TF.js: dataSync() + dispose(); fluxion: .data).',
  'Inputs are created before timing; conv2d gives TF.js its native NHWC/HWIO layout. ratio = fluxion / TF.js-wasm in the row unit;',
  'speed-up = how many times faster fluxion is than TF.js-wasm (> 1: fluxion wins).',
];
for (const h of header) console.log(h);
console.log('');

const rows: Row[] = [];
for (const s of SECTIONS) {
  const r = await s.run(filter);
  rows.push(...r);
}
if (rows.length === 0) console.log(`(no tensor case matches ${JSON.stringify(process.argv.slice(2))})`);
else for (const line of formatTable(rows)) console.log(line);

// Sections with tables of their own: autodiff (gradient against f, against tf.grad) and the
// operator transform (rewritten against plain code).
console.log('');
await benchAd(filter);
// The GPU section only when asked for (`npm run bench -- gpu`), so a machine without a GPU stays quick.
if (process.argv.slice(2).some((t) => t.toLowerCase() === 'gpu')) {
  console.log('');
  await (await import('./gpu.js')).benchGpu();
}
if (process.argv.length <= 2 || filter('transform', '')) {
  console.log('\nOperator transform: rewritten module / untransformed module on the same kernels (fastest of 25 interleaved runs)');
  await runTransformBench();
}
