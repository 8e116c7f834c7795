/**
 * `examples/basics.ts` needs the operator transform. Here it runs from source, with tsx and
 * the import hook (`tsconfig.json` maps `fluxion/register` to `src/`), so no build is needed;
 * its printed values are recomputed by `spec/transform/basics.spec.ts`, which runs it as a
 * user would, under the built `fluxion/register`.
 */
export const nodeArgs = ['--import', 'tsx', '--import', 'fluxion/register'];
