/**
 * Seeded random traces. Most activity stays in a small window so that calls overlap, split and
 * merge a lot. Profiles: layout (valid calls that reshape the address space), errno (invalid inputs
 * of every kind the man pages list), fault (layout calls with loads, stores and instruction
 * fetches between them, and file I/O through pread/pwrite), fork (the same over several processes
 * that fork and exit), mixed (all of it, fewer accesses).
 *
 * Files: f0 (10 pages) and f1 (3 pages) hold a different byte in every page, so a wrong page reads
 * wrong; fx (4 pages) is all 0xc3 (x86 `ret`). Instruction fetches ("exec") are only generated in
 * the fault and fork profiles, where executable memory is only ever mapped from fx: nothing else
 * gets PROT_EXEC there (mmap or mprotect), and fx is never writable while executable, so a fetch
 * either faults or executes a ret.
 */
import { Rng } from "../../src/core/lib/rng.js";
import { WIN } from "./engine.js";

export const PROFILES = ["layout", "errno", "fault", "fork", "mixed"] as const;
export type Profile = (typeof PROFILES)[number];

const PG = 4096;
/** Pages of the busy part of the window. */
const SPAN = 48;
const hex = (x: number) => (x < 0 ? `-${(-x).toString(10)}` : `0x${x.toString(16)}`);

class Gen {
  constructor(readonly r: Rng) {}
  int(lo: number, hi: number): number {
    return lo + this.r.below(hi - lo + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.r.below(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r.below(1_000_000) < p * 1_000_000;
  }
  page(): number {
    return WIN + this.int(0, SPAN - 1) * PG;
  }
  pages(max = 8): number {
    return this.int(1, max) * PG;
  }
}

const PROTS = [0, 1, 3, 3, 3, 5, 7, 1, 3];
const MADV_LAYOUT = [0, 1, 2, 4, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 23, 22, 8, 3, 20, 102, 103, 24];

/**
 * A call that is valid (or fails only for state reasons). With noExec (fault and fork profiles),
 * only fx is mapped executable and mprotect never adds PROT_EXEC (see the header).
 */
function validCall(g: Gen, noExec = false): string {
  const k = g.int(0, 99);
  const x = noExec ? 3 : 7;
  if (noExec && k < 10) {
    // fx: read-only fd 6, executable (or not), private or shared, offsets within and past its 4 pages.
    const prot = g.pick([5, 5, 4, 1, 0]);
    const fixed = g.chance(0.85) ? 0x10 : 0x100000;
    return `mmap ${hex(g.page())} ${hex(g.pages(6))} ${prot} ${hex((g.chance(0.5) ? 1 : 2) | fixed)} 6 ${hex(g.int(0, 5) * PG)}`;
  }
  if (k < 28) {
    const kind = g.int(0, 9);
    const prot = g.pick(PROTS) & x;
    const fixed = g.chance(0.85) ? 0x10 : 0x100000;
    const extra =
      (g.chance(0.15) ? 0x8000 : 0) | (g.chance(0.05) ? 0x4000 : 0) | (g.chance(0.04) ? 0x20000 : 0);
    if (kind < 6) return `mmap ${hex(g.page())} ${hex(g.pages())} ${prot} ${hex(0x22 | fixed | extra)} -1 0`;
    if (kind < 7) return `mmap ${hex(g.page())} ${hex(g.pages())} ${prot} ${hex(0x21 | fixed | extra)} -1 0`;
    if (kind < 8)
      return `mmap ${hex(g.page())} ${hex(g.pages(4))} ${prot & 5 & x} ${hex(0x22 | fixed | 0x100)} -1 0`;
    // File mappings: fd 3 = f0 rw, fd 4 = f0 ro, fd 5 = f1 rw; offsets within (and past) the files.
    const fd = g.pick([3, 3, 4, 5]);
    const shared = g.chance(0.5);
    const p = shared && fd === 4 ? prot & 5 : prot;
    return `mmap ${hex(g.page())} ${hex(g.pages())} ${p} ${hex((shared ? 1 : 2) | fixed | extra)} ${fd} ${hex(g.int(0, 12) * PG)}`;
  }
  if (k < 40) return `munmap ${hex(g.page())} ${hex(g.pages())}`;
  if (k < 58) return `mprotect ${hex(g.page())} ${hex(g.pages(10))} ${g.pick(PROTS) & x}`;
  if (k < 66) {
    const a = g.page();
    const old = g.pages(4);
    const mode = g.int(0, 3);
    if (mode === 0) return `mremap ${hex(a)} ${hex(old)} ${hex(g.pages(6))} 0 0`;
    if (mode === 1)
      return `mremap ${hex(a)} ${hex(old)} ${hex(old)} 3 ${hex(WIN + (SPAN + g.int(0, 40)) * PG)}`;
    if (mode === 2)
      return `mremap ${hex(a)} ${hex(old)} ${hex(g.pages(6))} 3 ${hex(WIN + (SPAN + g.int(0, 40)) * PG)}`;
    return `mremap ${hex(a)} ${hex(old)} ${hex(old)} 7 ${hex(WIN + (SPAN + g.int(0, 40)) * PG)}`;
  }
  if (k < 82) return `madvise ${hex(g.page())} ${hex(g.pages(10))} ${g.pick(MADV_LAYOUT)}`;
  if (k < 88)
    return g.chance(0.5)
      ? `mlock ${hex(g.page())} ${hex(g.pages())}`
      : `munlock ${hex(g.page())} ${hex(g.pages())}`;
  if (k < 90) return `mlock2 ${hex(g.page())} ${hex(g.pages())} 1`;
  if (k < 95) return `mincore ${hex(g.page())} ${hex(g.pages(12))}`;
  return `msync ${hex(g.page())} ${hex(g.pages(10))} ${g.pick([0, 1, 2, 4, 6])}`;
}

const BAD_LENS = [0, 1, -1, -4096, -4097, 2 ** 47, 2 ** 47 + 4096, 2 ** 52];
/**
 * Invalid addresses: unaligned, or beyond the user address space. Valid addresses outside the window
 * are never used, since a call that succeeds there could unmap or change the runner itself.
 */
const BAD_ADDRS = [WIN + 1, WIN + 4095, WIN + 2049, 0x7ffffffff000 + 1, 0x800000000000, -4096, 2 ** 52];

function invalidCall(g: Gen): string {
  const a = g.chance(0.5) ? g.page() : g.pick(BAD_ADDRS);
  const len = g.chance(0.5) ? g.pages() : g.pick(BAD_LENS);
  switch (g.int(0, 10)) {
    case 0: {
      const flags = g.pick([
        0,
        0x20,
        0x23,
        0x2b,
        0x22 | 0x40000,
        0x22 | 0x100 | 0x1,
        0x3,
        0x13,
        0x3 | 0x800000,
        0x22 | 0x2000,
        0x22 | 0x10 | 0x100000,
      ]);
      return `mmap ${hex(a)} ${hex(len)} ${g.pick([0, 1, 3, 7, 8, 0x10, 0x1000000])} ${hex(flags)} ${g.pick([-1, 3, 4, 5, 9, 99])} ${hex(g.pick([0, 1, 4096, -4096, 2 ** 40]))}`;
    }
    case 1:
      return `munmap ${hex(a)} ${hex(len)}`;
    case 2: {
      // PROT_GROWSDOWN looks for the first VMA anywhere in the range: keep such ranges inside the window.
      const prot = g.pick([0x100, -1, 0x3000003, 0x1000001, 0x2000001, 8, 3]);
      return `mprotect ${hex(a)} ${hex(prot & 0x1000000 && prot !== -1 ? g.pages(20) : len)} ${prot}`;
    }
    case 3:
      return `mremap ${hex(a)} ${hex(len)} ${hex(g.pick(BAD_LENS.concat([PG, 2 * PG])))} ${g.pick([0, 1, 2, 3, 4, 5, 7, 8])} ${hex(g.pick(BAD_ADDRS.concat([WIN + 60 * PG])))}`;
    case 4: {
      // Advice that acts on every VMA in range (holes are skipped) only gets lengths inside the window.
      const advice = g.pick([5, 6, 7, 26, 99, 101, 100, -1, 4, 9, 8, 18, 25]);
      const known = advice >= 0 && advice <= 25 && ![5, 6, 7].includes(advice);
      return `madvise ${hex(a)} ${hex(known ? g.pick([0, 1, -1, -4096, g.pages(20)]) : len)} ${advice}`;
    }
    case 5:
      return `mlock ${hex(a)} ${hex(len)}`;
    case 6:
      return `mlock2 ${hex(a)} ${hex(len)} ${g.pick([0, 1, 2, 3])}`;
    case 7:
      return `munlock ${hex(a)} ${hex(len)}`;
    case 8:
      return `msync ${hex(a)} ${hex(len)} ${g.pick([0, 1, 2, 3, 4, 5, 6, 7, 8])}`;
    case 9:
      return `mincore ${hex(a)} ${hex(g.pick([0, PG, 3 * PG, 2 ** 47, -4096]))}`;
    default:
      return `mlockall ${g.pick([0, 4, 8, 1 | 8])}`;
  }
}

/**
 * Loads and stores over the window: they fault pages in (or signal), between layout calls. With
 * exec (fault and fork profiles) also instruction fetches, and reads and writes of the files.
 */
function accessCall(g: Gen, exec = false): string {
  const a = g.page() + (g.chance(0.3) ? g.int(0, 4095) : 0);
  const len = g.pick([1, 8, 4096, 2 * PG, 3 * PG + 100, 6 * PG]);
  if (exec) {
    const k = g.int(0, 99);
    if (k < 20) return `exec ${hex(a)}`;
    if (k < 25) {
      // fds 3 and 4: f0 (10 pages), 5: f1 (3 pages), 6: fx (4 pages). read(2) read-ahead is not
      // modelled (the engine reads a missing page alone), so reads stay inside the pages the
      // files start with, which are always cached; pages past them may be holes left by a
      // growing pwrite. fx never grows: its reads may end past EOF.
      const fd = g.pick([3, 4, 5, 6]);
      const size = (fd === 5 ? 3 : fd === 6 ? 4 : 10) * PG;
      const off = g.int(0, size - 1);
      const len = g.pick([1, 100, 300, PG, 2 * PG]);
      return `pread ${fd} ${hex(off)} ${hex(fd === 6 ? len : Math.min(len, size - off))}`;
    }
    if (k < 30) {
      // Whole pages (growing f0 to 14 pages, f1 to 6) or a few bytes inside the first two pages;
      // one page per call, so ext4 keeps order-0 folios. fd 4 is read-only (EBADF).
      const fd = g.pick([3, 3, 5, 5, 4]);
      if (g.chance(0.5))
        return `pwrite ${fd} ${hex(g.int(0, fd === 5 ? 5 : 13) * PG)} ${hex(PG)} ${g.int(0, 255)}`;
      return `pwrite ${fd} ${hex(g.int(0, 1) * PG + g.int(0, 3900))} ${hex(g.int(1, 196))} ${g.int(0, 255)}`;
    }
  }
  return g.chance(0.5) ? `read ${hex(a)} ${hex(len)}` : `write ${hex(a)} ${hex(len)} ${g.int(0, 255)}`;
}

/** A trace of `calls` calls (40-200 by default) for the profile, reproducible from its seed. */
export function generateTrace(profile: Profile, seed: number, calls?: number): string[] {
  const g = new Gen(new Rng(`${profile}:${seed}`));
  const n = calls ?? g.int(40, 200);
  const t = [
    "file f0 40960 17 1",
    "file f1 12288 101 3",
    "file fx 16384 195 0",
    "open f0 2",
    "open f0 0",
    "open f1 2",
    "open fx 0",
  ];
  // Processes of the trace (vpid 1 is the runner itself); fork adds the next vpid.
  const live = [1];
  let next = 2;
  const MAXP = 8;
  for (let i = 0; i < n; i++) {
    const bad = profile === "errno" ? g.chance(0.8) : profile === "mixed" ? g.chance(0.25) : false;
    const access =
      profile === "fault" || profile === "fork"
        ? g.chance(0.55)
        : profile === "mixed"
          ? g.chance(0.2)
          : false;
    const p = profile === "fork" || profile === "mixed" ? g.pick(live) : 1;
    const prefix = p === 1 ? "" : `${p}: `;
    if (
      (profile === "fork" || profile === "mixed") &&
      next <= MAXP &&
      g.chance(profile === "fork" ? 0.06 : 0.01)
    ) {
      t.push(`${prefix}fork`);
      live.push(next++);
      continue;
    }
    if (p !== 1 && g.chance(0.02)) {
      t.push(`${prefix}exit`);
      live.splice(live.indexOf(p), 1);
      continue;
    }
    const faulty = profile === "fault" || profile === "fork";
    const call = access ? accessCall(g, faulty) : bad ? invalidCall(g) : validCall(g, faulty);
    t.push(prefix + call);
    if (!call.startsWith("mincore")) t.push(`${prefix}maps`);
  }
  for (const p of live) t.push(p === 1 ? "smaps" : `${p}: smaps`);
  return t;
}
