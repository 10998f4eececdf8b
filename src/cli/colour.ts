/**
 * The colour decision, made per output stream from the stream and the
 * environment passed in (never read from globals, so tests are exact):
 *   --no-color            -> none
 *   FORCE_COLOR=0|false   -> none
 *   FORCE_COLOR=1..3      -> forced at that level (even into a pipe or file)
 *   NO_COLOR (non-empty, as no-color.org says) -> none
 *   TERM=dumb             -> none
 *   not a terminal        -> none
 *   otherwise             -> what the terminal supports
 * FORCE_COLOR wins over NO_COLOR, as in Node itself.
 */
export type ColourLevel = 0 | 1 | 2 | 3;

export interface ColourStream {
  isTTY?: boolean;
  getColorDepth?: (env?: object) => number;
}

export function colourLevel(stream: ColourStream, env: NodeJS.ProcessEnv, flag = true): ColourLevel {
  if (!flag) return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    const value = force.trim().toLowerCase();
    if (value === '0' || value === 'false') return 0;
    if (value === '2') return 2;
    if (value === '3') return 3;
    return 1;
  }
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env.TERM === 'dumb') return 0;
  if (!stream.isTTY) return 0;
  // Node's own check would read NO_COLOR="" as set; the decisions above are already made.
  const depth = stream.getColorDepth?.({ ...env, NO_COLOR: undefined, FORCE_COLOR: undefined }) ?? 4;
  return depth >= 24 ? 3 : depth >= 8 ? 2 : depth >= 4 ? 1 : 0;
}

/** CI is set to something other than "", "0" or "false" (CI=false is a common way to say "not CI"). */
export function isCI(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}
