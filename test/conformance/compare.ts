/**
 * Comparing kernel and engine output. Every difference that is not the engine's fault is removed
 * by a named rule below; anything else is a divergence.
 */

export interface Rule {
  name: string;
  why: string;
  apply(line: string): string;
}

const MAPS_LINE =
  /^([0-9a-f]+-[0-9a-f]+ [-r][-w][-x][sp] [0-9a-f]+ )([0-9a-f]{2}:[0-9a-f]{2}) (\d+)\s+(\S.*)$/;

export const RULES: Rule[] = [
  {
    name: "file-identity",
    why: "a file's device and inode numbers are the host filesystem's; the engine's are its own. Files are compared by path (and shared anonymous memory by its name)",
    apply: (l) => {
      const m = MAPS_LINE.exec(l);
      return m ? `${m[1]}<dev:ino> ${m[4]}` : l;
    },
  },
  {
    name: "lazyfree-batching",
    why: "MADV_FREE marks pages lazily free through per-CPU folio batches (31 pages), so the kernel's LazyFree lags by up to a batch; the engine applies it at once. The value is left out, the line is kept",
    apply: (l) => l.replace(/^(\s*LazyFree:)\s+\d+ kB$/, "$1 <batched>"),
  },
  {
    name: "outside-window-address",
    why: "mappings placed by the kernel (no usable hint, MREMAP_MAYMOVE) land outside the window at ASLR-dependent addresses",
    apply: (l) => {
      const m = /^= 0x([0-9a-f]+)$/.exec(l);
      if (!m) return l;
      const v = Number.parseInt(m[1]!, 16);
      return v >= 0x100000000000 && v < 0x100000000000 + 2 ** 30 ? l : "= <address outside the window>";
    },
  },
];

export function normalize(lines: string[]): string[] {
  return lines.map((l) => RULES.reduce((acc, r) => r.apply(acc), l));
}

export interface Divergence {
  /** Index of the first differing output line. */
  line: number;
  kernel: string | undefined;
  engine: string | undefined;
  /** The trace line that produced it (by counting result-producing lines). */
  call: string;
  context: string[];
}

/** Commands that print exactly one line; maps/smaps print until a "." line. */
function callOfOutput(trace: string[], outLine: number, out: string[]): { call: string; index: number } {
  let o = 0;
  for (let i = 0; i < trace.length; i++) {
    const c = trace[i]!.trim();
    if (!c || c.startsWith("#")) continue;
    const start = o;
    const cmd = c.replace(/^\d+:\s*/, "");
    if (cmd === "maps" || cmd === "smaps" || cmd === "probe") {
      while (o < out.length && out[o] !== ".") o++;
      o++;
    } else o++;
    if (outLine >= start && outLine < o) return { call: c, index: i };
  }
  return { call: "(past the end of the trace)", index: trace.length };
}

export function compare(trace: string[], kernel: string[], engine: string[]): Divergence | null {
  const k = normalize(kernel);
  const e = normalize(engine);
  const n = Math.max(k.length, e.length);
  for (let i = 0; i < n; i++) {
    if (k[i] !== e[i]) {
      const { call, index } = callOfOutput(trace, i, k);
      return {
        line: i,
        kernel: k[i],
        engine: e[i],
        call,
        context: trace.slice(Math.max(0, index - 8), index + 1),
      };
    }
  }
  return null;
}
