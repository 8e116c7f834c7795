#!/usr/bin/env node
/**
 * `fluxion-tsc`: `tsc` for projects that use fluxion's operator transform. It takes the same
 * arguments as `tsc` (`fluxion-tsc -p tsconfig.json`, `fluxion-tsc --noEmit`, file names with
 * options), type-checks and emits with the TypeScript compiler API, and reports every
 * diagnostic except those the operator transform makes obsolete (tensor arithmetic such as
 * `W -= 0.1 * g`): the same filter as the editor plugin `fluxion/ts-plugin`
 * (src/transform/ts-filter.cts). Real type errors elsewhere still fail it. Exit status as
 * `tsc`'s: 0 without errors, 1 when errors stopped the output (or the configuration was bad),
 * 2 when there were errors but output was written.
 *
 * TypeScript itself is not bundled: the one the project installed is used (resolved from the
 * current directory), otherwise one that resolves from fluxion's own location. Not supported:
 * `--watch` and `--build` (use `tsc` for those; the filter needs a whole program).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as TS from 'typescript';
import { filterDiagnostics } from './ts-filter.cjs';

/** The project's TypeScript, else one next to fluxion. */
function loadTypeScript(): typeof TS {
  for (const base of [join(process.cwd(), 'package.json'), __filename]) {
    try {
      return createRequire(base)('typescript') as typeof TS;
    } catch {
      // try the next place
    }
  }
  process.stderr.write('fluxion-tsc: the typescript package is not installed; install it in the project: npm install --save-dev typescript\n');
  process.exit(1);
}

/** Type-check (and emit, unless `noEmit`) as `tsc` would with `argv`; returns the exit status. */
function main(ts: typeof TS, argv: string[]): number {
  const sys = ts.sys;
  const cmd = ts.parseCommandLine(argv);
  const pretty = (options: TS.CompilerOptions): boolean =>
    (options.pretty as boolean | undefined) ?? (!!sys.writeOutputIsTTY?.() && process.env.NO_COLOR === undefined);
  const host: TS.FormatDiagnosticsHost = {
    getCanonicalFileName: (f) => (sys.useCaseSensitiveFileNames ? f : f.toLowerCase()),
    getCurrentDirectory: () => sys.getCurrentDirectory(),
    getNewLine: () => sys.newLine,
  };
  const report = (diags: readonly TS.Diagnostic[], options: TS.CompilerOptions): void => {
    if (diags.length === 0) return;
    sys.write(pretty(options) ? ts.formatDiagnosticsWithColorAndContext(diags, host) + sys.newLine : ts.formatDiagnostics(diags, host));
  };
  if (cmd.errors.length > 0) {
    report(cmd.errors, cmd.options);
    return 1;
  }
  const o = cmd.options;
  if (o.version) {
    sys.write(`fluxion-tsc, TypeScript ${ts.version}${sys.newLine}`);
    return 0;
  }
  if (o.help || o.all) {
    sys.write(
      'fluxion-tsc: tsc for code using fluxion\'s operator transform; takes the same arguments as tsc' + sys.newLine +
      '  fluxion-tsc                 the tsconfig.json found from the current directory' + sys.newLine +
      '  fluxion-tsc -p <path>       a tsconfig.json, or a directory holding one' + sys.newLine +
      '  fluxion-tsc [options] file… files with command-line options, as tsc does' + sys.newLine +
      'Hidden: reports of tensor arithmetic (2322, 2356, 2362, 2363, 2365, 2588) where an operand is a' + sys.newLine +
      'Tensor, a typed array or a number array. Everything else is reported as by tsc.' + sys.newLine,
    );
    return 0;
  }
  if (o.watch || argv.includes('--build') || argv.includes('-b')) {
    sys.write(`fluxion-tsc: --watch and --build are not supported; run fluxion-tsc once per project${sys.newLine}`);
    return 1;
  }

  let parsed: TS.ParsedCommandLine;
  if (cmd.fileNames.length > 0 && o.project === undefined) {
    parsed = cmd;
  } else {
    let configPath: string | undefined;
    if (o.project !== undefined) {
      const p = ts.sys.resolvePath(o.project);
      configPath = sys.directoryExists(p) ? join(p, 'tsconfig.json') : p;
      if (!sys.fileExists(configPath)) {
        sys.write(`fluxion-tsc: cannot find a tsconfig.json at ${o.project}${sys.newLine}`);
        return 1;
      }
    } else {
      configPath = ts.findConfigFile(sys.getCurrentDirectory(), sys.fileExists);
      if (configPath === undefined) {
        sys.write(`fluxion-tsc: no tsconfig.json found from ${sys.getCurrentDirectory()}; pass -p <path> or file names${sys.newLine}`);
        return 1;
      }
    }
    const configErrors: TS.Diagnostic[] = [];
    const config = ts.getParsedCommandLineOfConfigFile(configPath, o, {
      ...sys,
      onUnRecoverableConfigFileDiagnostic: (d) => configErrors.push(d),
    });
    if (config === undefined || configErrors.length > 0) {
      report(configErrors, o);
      return 1;
    }
    parsed = config;
  }

  const options = parsed.options;
  // noEmitOnError is decided here, on the filtered diagnostics (the compiler would see the hidden ones).
  const program = ts.createProgram({
    rootNames: parsed.fileNames,
    options: { ...options, noEmitOnError: false },
    projectReferences: parsed.projectReferences,
    configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(parsed),
  });
  const diagnostics = filterDiagnostics(ts, program, ts.sortAndDeduplicateDiagnostics([
    ...ts.getConfigFileParsingDiagnostics(parsed),
    ...ts.getPreEmitDiagnostics(program),
  ]));
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  let emitted = false;
  const all = [...diagnostics];
  if (!options.noEmit && !(options.noEmitOnError && errors.length > 0)) {
    const result = program.emit();
    all.push(...result.diagnostics);
    emitted = !result.emitSkipped;
  }
  report(all, options);
  const failed = all.some((d) => d.category === ts.DiagnosticCategory.Error);
  if (failed && pretty(options)) {
    const n = all.filter((d) => d.category === ts.DiagnosticCategory.Error).length;
    sys.write(`${sys.newLine}Found ${n} error${n === 1 ? '' : 's'}.${sys.newLine}`);
  }
  if (!failed) return 0;
  return emitted || options.noEmit ? 2 : 1;
}

process.exitCode = main(loadTypeScript(), process.argv.slice(2));
