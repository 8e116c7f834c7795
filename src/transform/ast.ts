/**
 * The ESTree nodes acorn produces, loosely typed: the rewrite reads many node kinds and
 * checks `type` before touching a field.
 * @internal
 */
export interface Node {
  type: string;
  start: number;
  end: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}
