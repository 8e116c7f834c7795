/**
 * The operator rewrite's output: pieces of text assembled into JavaScript with a source map,
 * chained with the map of the input (from the TypeScript stripper or an earlier tool).
 */
import { GenMapping, addSegment, setSourceContent, toEncodedMap, type EncodedSourceMap } from '@jridgewell/gen-mapping';
import remapping from '@jridgewell/remapping';

/** A source map as JSON (version 3). */
export type SourceMapJSON = EncodedSourceMap;

/**
 * A piece of output: generated text (`string`), generated text mapped to input offset `o`
 * (`{ s, o }`), or the input's text from `a` to `b`, copied and mapped token by token.
 */
export type Piece = string | { s: string; o: number } | { a: number; b: number };

const INLINE_MAP = /\n?\/\/[#@] sourceMappingURL=data:application\/json(?:;charset=[^;,]*)?;base64,([A-Za-z0-9+/=]+)\s*$/;

/**
 * `code` without a trailing inline source-map comment (left by tsx, a bundler), and the map
 * to chain: `given` if any, else the inline one.
 */
export function takeInlineMap(code: string, given: SourceMapJSON | string | null | undefined): { code: string; inputMap: SourceMapJSON | null } {
  let inputMap = typeof given === 'string' ? (JSON.parse(given) as SourceMapJSON) : given ?? null;
  const inline = INLINE_MAP.exec(code);
  if (inline) {
    if (!inputMap) inputMap = JSON.parse(Buffer.from(inline[1], 'base64').toString('utf8')) as SourceMapJSON;
    code = code.slice(0, inline.index);
  }
  return { code, inputMap };
}

/** `map` (output to input) followed by `inputMap` (input to original), if any. */
export function chainMaps(map: SourceMapJSON, inputMap: SourceMapJSON | null): SourceMapJSON {
  return inputMap ? (remapping([map as never, inputMap as never], () => null) as unknown as SourceMapJSON) : map;
}

/** `code` followed by an inline source-map comment. */
export function withInlineMap(code: string, map: SourceMapJSON): string {
  return `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

function lineStarts(code: string): number[] {
  const starts = [0];
  for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function locate(starts: number[], pos: number): [number, number] {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return [lo, pos - starts[lo]];
}

const isWord = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95 || c > 127;
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/** Concatenate `pieces` into the output text, with a map from every copied token and generated call to `code`. */
export function assemble(code: string, pieces: Piece[], source: string): { text: string; map: SourceMapJSON } {
  const starts = lineStarts(code);
  const gen = new GenMapping({ file: source });
  setSourceContent(gen, source, code);
  const parts: string[] = [];
  let line = 0, col = 0;
  const advance = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) === 10) {
        line++;
        col = 0;
      } else col++;
    }
  };
  const mapAt = (o: number): void => {
    const [l, c] = locate(starts, o);
    addSegment(gen, line, col, source, l, c);
  };
  for (const p of pieces) {
    if (typeof p === 'string') {
      parts.push(p);
      advance(p);
    } else if ('s' in p) {
      mapAt(p.o);
      parts.push(p.s);
      advance(p.s);
    } else {
      const text = code.slice(p.a, p.b);
      for (let i = 0; i < text.length; i++) {
        const ch = text.charCodeAt(i);
        if (ch === 10) {
          line++;
          col = 0;
          continue;
        }
        if (!isSpace(ch)) {
          const prev = i === 0 ? 32 : text.charCodeAt(i - 1);
          if (i === 0 || isSpace(prev) || !isWord(ch) || !isWord(prev)) mapAt(p.a + i);
        }
        col++;
      }
      parts.push(text);
    }
  }
  return { text: parts.join(''), map: toEncodedMap(gen) as SourceMapJSON };
}

/** The map of an unchanged file: the input map if there is one, else token by token onto itself. */
export function identityMap(code: string, source: string, inputMap: SourceMapJSON | null): SourceMapJSON {
  if (inputMap) return inputMap;
  return assemble(code, [{ a: 0, b: code.length }], source).map;
}
