/**
 * Shared test scaffolding: a machine with this host's kernel profile, a compact picture of an
 * address space, and a checked call wrapper that runs validate_mm()/validate_machine() after each step.
 */
import { expect } from "vitest";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
} from "../../src/core/abi/mman.js";
import type { SysResult } from "../../src/core/lib/result.js";
import { Machine, type MachineOptions, type SpawnOptions } from "../../src/core/machine.js";
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_lazyfree } from "../../src/core/mem/frames.js";
import { access_vm } from "../../src/core/mm/access.js";
import { add_to_page_cache } from "../../src/core/mm/fault.js";
import { sys_mmap } from "../../src/core/mm/mmap.js";
import {
  PTE_DIRTY,
  PTE_GUARD,
  PTE_HWPOISON,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_WRITE,
  PTE_YOUNG,
  pte_pfn,
} from "../../src/core/mm/page_table.js";
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  type mm_struct,
} from "../../src/core/mm/types.js";
import { validate_machine, validate_mm } from "../../src/core/mm/validate.js";
import { vmFlagMnemonics } from "../../src/core/mm/vm_flags.js";
import type { KernelProfile } from "../../src/core/profile.js";
import type { task_struct } from "../../src/core/task/task.js";

export const PG = PAGE_SIZE;
/** A window no default layout uses, like the conformance runner's. */
export const W = 0x100000000000;

/** This machine's kernel: no zero page, no soft-dirty, mmap_min_addr 4096, ASLR off for fixed addresses. */
export const HOST_PROFILE: Partial<KernelProfile> = {
  zeroPage: false,
  softDirty: false,
  mmapMinAddr: 4096,
  randomizeVaSpace: 0,
  ramBytes: 24 * 2 ** 30,
  swapBytes: 0,
};

export interface Env {
  m: Machine;
  t: task_struct;
  mm: mm_struct;
  /** Run a call, validate the machine, return the result. */
  call<T>(r: SysResult<T>): SysResult<T>;
  /** Expect success and return the value. */
  ok<T>(r: SysResult<T>): T;
  /** Expect failure with errno and validate that nothing broke. */
  fails(r: SysResult<unknown>, errno: number): void;
  /** validate_machine()/validate_mm() now. */
  check(): void;
}

export interface EnvOptions {
  profile?: Partial<KernelProfile>;
  spawn?: SpawnOptions;
  machine?: MachineOptions;
  /** Check that no two neighbours are left mergeable (off for the few Linux paths that do leave them). */
  checkMergeable?: boolean;
}

export function env(o: EnvOptions = {}): Env {
  const m = new Machine({ seed: 1, ...o.machine, profile: { ...HOST_PROFILE, ...o.profile } });
  const t = m.spawnEmpty(o.spawn);
  const mm = t.mm!;
  const check = () => {
    validate_machine(m);
    validate_mm(m, mm, { checkMergeable: o.checkMergeable ?? true });
  };
  return {
    m,
    t,
    mm,
    call(r) {
      check();
      return r;
    },
    ok(r) {
      check();
      if (!r.ok) throw new Error(`expected success, got errno ${r.errno}`);
      return r.value;
    },
    fails(r, errno) {
      check();
      expect(r.ok ? "ok" : r.errno).toBe(errno);
    },
    check,
  };
}

/** The VMAs as "start-end flags pgoff [a]" lines, addresses relative to `base` in pages. */
export function layout(mm: mm_struct, base = W): string[] {
  const out: string[] = [];
  for (const v of mm.mm_mt) {
    const s = (v.vm_start - base) / PG;
    const e = (v.vm_end - base) / PG;
    const perms = `${v.vm_flags & 1 ? "r" : "-"}${v.vm_flags & 2 ? "w" : "-"}${v.vm_flags & 4 ? "x" : "-"}${v.vm_flags & 0x80 ? "s" : "p"}`;
    out.push(`${s}-${e} ${perms} ${v.vm_pgoff - base / PG}${v.anon_vma ? " a" : ""}`);
  }
  return out;
}

/** VmFlags mnemonics of the VMA containing addr. */
export function flagsAt(mm: mm_struct, addr: number): string {
  const v = mm.mm_mt.lookup(addr);
  return v ? vmFlagMnemonics(v.vm_flags).trim() : "";
}

/** Filler VMAs live here, far above the pictured window. */
export const FAR = W + 0x10000000;

/** The window's VMAs only (the fillers of the max_map_count tests are left out). */
export function win(mm: mm_struct): string[] {
  return layout(mm).filter((l) => Number.parseInt(l, 10) < 0x10000);
}

/** Single-page VMAs that cannot merge (alternating prot) until map_count == n. */
export function fillTo(e: Env, n: number): void {
  for (let i = 0; e.mm.map_count < n; i++) {
    e.ok(
      sys_mmap(
        e.m,
        e.t,
        FAR + 2 * i * PG,
        PG,
        i & 1 ? PROT_READ : PROT_NONE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        -1,
        0,
      ),
    );
  }
}

/** A regular file of `size` bytes whose page cache is warm (as after writing it). */
export function cachedFile(e: { m: Machine }, path: string, size: number): void {
  const inode = e.m.fs.create(path, size);
  for (let i = 0; i < Math.ceil(size / PG); i++) add_to_page_cache(e.m, inode, i);
}

/**
 * The PTEs of n pages from addr, one string each: "none", "guard", "swap", "hwpoison", or the
 * present bits as "pwdy" with "-" for a clear bit (present, writable, dirty, young), followed by
 * " zero" for the shared zero page.
 */
export function ptes(mm: mm_struct, addr: number, n = 1): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const pte = mm.pgd.get(addr / PG + i);
    if (pte === 0) out.push("none");
    else if (pte & PTE_GUARD) out.push("guard");
    else if (pte & PTE_SWAP) out.push("swap");
    else if (pte & PTE_HWPOISON) out.push("hwpoison");
    else {
      const f = (bit: number, c: string) => (pte & bit ? c : "-");
      out.push(
        f(PTE_PRESENT, "p") +
          f(PTE_WRITE, "w") +
          f(PTE_DIRTY, "d") +
          f(PTE_YOUNG, "y") +
          (pte & PTE_SPECIAL ? " zero" : ""),
      );
    }
  }
  return out;
}

/** The frame a present PTE maps (throws when none is). */
export function pfnAt(mm: mm_struct, addr: number): number {
  const pte = mm.pgd.get(Math.floor(addr / PG));
  if (!(pte & PTE_PRESENT)) throw new Error(`no page at ${addr.toString(16)}`);
  return pte_pfn(pte);
}

/** A frame's state: "anon"/"file"/"zero", _refcount, mapcount, and the flags tests care about. */
export function frame(m: Machine, pfn: number): string {
  const f = m.frames;
  if (pfn === f.zero_pfn) return "zero";
  const fl = f.flags[pfn]!;
  return [
    fl & PG_anon ? "anon" : "file",
    `ref${f._refcount[pfn]}`,
    `map${f.mapcount[pfn]}`,
    ...(fl & PG_anon_exclusive ? ["excl"] : []),
    ...(fl & PG_dirty ? ["dirty"] : []),
    ...(fl & PG_lazyfree ? ["lazyfree"] : []),
  ].join(" ");
}

/** RSS counters as "anon file shmem swap" page counts. */
export function rss(mm: mm_struct): string {
  return `anon ${mm.rss_stat[MM_ANONPAGES]} file ${mm.rss_stat[MM_FILEPAGES]} shmem ${mm.rss_stat[MM_SHMEMPAGES]} swap ${mm.rss_stat[MM_SWAPENTS]}`;
}

/** A regular file of `pages` pages whose page i holds byte (tag + i) everywhere, on disk only. */
export function fileOnDisk(m: Machine, path: string, pages: number, tag: number, size = pages * PG): void {
  const inode = m.fs.create(path, size);
  for (let i = 0; i < pages; i++)
    inode.disk.set(i, new Uint8Array(Math.min(PG, size - i * PG)).fill((tag + i) & 0xff));
}

/** Text helpers for contents. */
export const bytes = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Task t stores the string's bytes at addr (a signal fails the test). */
export function store(m: Machine, t: task_struct, addr: number, s: string): void {
  const r = access_vm(m, t, addr, s.length, "write", bytes(s));
  expect(r.signal, `store at ${addr.toString(16)}`).toBeUndefined();
}

/** Task t loads n bytes at addr, as text with "." for each zero byte (a signal fails the test). */
export function load(m: Machine, t: task_struct, addr: number, n: number): string {
  const r = access_vm(m, t, addr, n, "read");
  expect(r.signal, `load at ${addr.toString(16)}`).toBeUndefined();
  return text(r.data).replaceAll("\0", ".");
}
