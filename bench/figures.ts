/**
 * What every benchmark shares: its command-line numbers, the statistics and number formats of its
 * printed table, and how it gives up.
 */

/** The number after --name on the command line, or dflt. */
export function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

export function fail(msg: string): never {
  throw new Error(`bench: ${msg}`);
}

export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** ns (or any cost) with three significant-ish digits; "n/a" when there is no figure. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export function fmtRatio(r: number): string {
  if (!Number.isFinite(r) || r <= 0) return "n/a";
  return r >= 10 ? r.toFixed(1) : r.toFixed(2);
}
