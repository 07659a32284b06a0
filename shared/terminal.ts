// What a terminal gets: colour only on a TTY, never with NO_COLOR (https://no-color.org), forced with FORCE_COLOR.

/** Whether to colour what goes to `stream`. */
export function useColor(stream: unknown, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return (stream as { isTTY?: boolean } | undefined)?.isTTY === true && env.TERM !== 'dumb';
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

/** A painter for one stream: the identity function when colour is off. */
export function painter(stream: unknown, env: NodeJS.ProcessEnv = process.env): (colour: Colour, text: string) => string {
  if (!useColor(stream, env)) return (_c, text) => text;
  return (c, text) => `\u001b[${CODES[c]}m${text}\u001b[0m`;
}
