/**
 * validate_mm(): recompute every cached value of an mm from scratch and compare. A mismatch is a
 * bug in the engine, never a user error: it throws. Tests call it after every step.
 */
import { PAGE_SIZE, TASK_SIZE } from "../abi/mman.js";
import { InvariantError } from "../abi/ulong.js";
import type { Machine } from "../machine.js";
import { PTE_GUARD, PTE_HWPOISON, PTE_PRESENT, PTE_SPECIAL, PTE_SWAP, PTRS_PER_PTE } from "./page_table.js";
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  type mm_struct,
  type vm_area_struct,
} from "./types.js";
import {
  is_data_mapping,
  is_exec_mapping,
  is_stack_mapping,
  VM_ACCESS_FLAGS,
  VM_IGNORE_MERGE,
  VM_LOCKED,
  VM_SHARED,
  VM_SPECIAL,
} from "./vm_flags.js";
import { vma_had_uncowed_parents } from "./vma.js";

function fail(msg: string): never {
  throw new InvariantError(`validate_mm: ${msg}`);
}

const hx = (x: number) => `0x${x.toString(16)}`;

/** Would mm/vma.c merge these neighbours if they were proposed now? */
export function vmas_could_merge(a: vm_area_struct, b: vm_area_struct): boolean {
  if (a.vm_end !== b.vm_start) return false;
  if ((a.vm_flags | b.vm_flags) & VM_SPECIAL) return false;
  if ((a.vm_flags ^ b.vm_flags) & ~VM_IGNORE_MERGE) return false;
  if (a.vm_file !== b.vm_file) return false;
  if (a.vm_pgoff + a.nr_pages !== b.vm_pgoff) return false;
  if (a.anon_vma && b.anon_vma) return a.anon_vma === b.anon_vma;
  if (a.anon_vma) return !vma_had_uncowed_parents(a);
  if (b.anon_vma) return !vma_had_uncowed_parents(b);
  return true;
}

export interface ValidateOptions {
  /**
   * Linux itself leaves mergeable neighbours in a few paths (brk never merges with the next VMA,
   * a failed MAP_FIXED keeps the splits it made): callers that exercise those pass false.
   */
  checkMergeable?: boolean;
}

export function validate_mm(m: Machine, mm: mm_struct, opts: ValidateOptions = {}): void {
  mm.mm_mt.check();
  let map_count = 0;
  let total_vm = 0;
  let exec_vm = 0;
  let stack_vm = 0;
  let data_vm = 0;
  let shared_vm = 0;
  let locked_vm = 0;
  let prev: vm_area_struct | undefined;
  for (const v of mm.mm_mt) {
    map_count++;
    if (v.vm_mm !== mm) fail(`VMA ${hx(v.vm_start)} belongs to another mm`);
    if (v.vm_start % PAGE_SIZE || v.vm_end % PAGE_SIZE)
      fail(`unaligned VMA ${hx(v.vm_start)}-${hx(v.vm_end)}`);
    if (v.vm_start >= v.vm_end) fail(`empty VMA at ${hx(v.vm_start)}`);
    if (v.vm_end > TASK_SIZE) fail(`VMA beyond TASK_SIZE: ${hx(v.vm_end)}`);
    if (prev && prev.vm_end > v.vm_start) fail(`overlap at ${hx(v.vm_start)}`);
    if (prev && opts.checkMergeable !== false && vmas_could_merge(prev, v)) {
      fail(`mergeable neighbours left unmerged at ${hx(v.vm_start)}`);
    }
    if (v.anon_vma && v.anon_vma_chain[0] !== v.anon_vma)
      fail(`anon_vma chain of ${hx(v.vm_start)} does not start at it`);
    if (!v.anon_vma && v.anon_vma_chain.length) fail(`anon_vma chain without anon_vma at ${hx(v.vm_start)}`);
    if (v.vm_file && !v.vm_file.inode.i_mmap.has(v)) fail(`file VMA ${hx(v.vm_start)} missing from i_mmap`);
    const n = v.nr_pages;
    total_vm += n;
    if (is_exec_mapping(v.vm_flags)) exec_vm += n;
    else if (is_stack_mapping(v.vm_flags)) stack_vm += n;
    else if (is_data_mapping(v.vm_flags)) data_vm += n;
    if (v.vm_flags & VM_SHARED) shared_vm += n;
    if (v.vm_flags & VM_LOCKED) locked_vm += n;
    prev = v;
  }
  const expect = (name: string, got: number, want: number) => {
    if (got !== want) fail(`${name} is ${got}, recomputed ${want}`);
  };
  expect("map_count", mm.map_count, map_count);
  expect("mm_mt.size", mm.mm_mt.size, map_count);
  expect("total_vm", mm.total_vm, total_vm);
  expect("exec_vm", mm.exec_vm, exec_vm);
  expect("stack_vm", mm.stack_vm, stack_vm);
  expect("data_vm", mm.data_vm, data_vm);
  expect("shared_vm", mm.shared_vm, shared_vm);
  expect("locked_vm", mm.locked_vm, locked_vm + mm.locked_vm_skew);
  if (mm.mmap_cache && !mm.mm_mt.has(mm.mmap_cache)) fail("mmap_cache points at a VMA not in the tree");
  validate_page_tables(m, mm);
}

/** Every non-none PTE lies inside a VMA that allows it; RSS counters equal a recount. */
function validate_page_tables(m: Machine, mm: mm_struct): void {
  const rss = [0, 0, 0, 0];
  const f = m.frames;
  for (const [key, t] of mm.pgd.ptes) {
    let used = 0;
    for (let i = 0; i < PTRS_PER_PTE; i++) {
      const bits = t.bits[i]!;
      if (bits === 0) continue;
      used++;
      const addr = (key * PTRS_PER_PTE + i) * PAGE_SIZE;
      const vma = mm.mm_mt.lookup(addr);
      if (!vma) fail(`PTE outside any VMA at ${hx(addr)}`);
      if (bits & PTE_GUARD || bits & PTE_HWPOISON) continue;
      if (bits & PTE_SWAP) {
        rss[MM_SWAPENTS]!++;
        continue;
      }
      if (!(bits & PTE_PRESENT)) fail(`unknown PTE state ${bits} at ${hx(addr)}`);
      if (!(vma.vm_flags & VM_ACCESS_FLAGS) && !(bits & PTE_SPECIAL)) {
        // PROT_NONE VMAs may keep their pages (mprotect does not unmap); nothing to check.
      }
      if (bits & PTE_SPECIAL) continue;
      const pfn = t.pfn[i]!;
      if (f._refcount[pfn]! <= 0) fail(`PTE at ${hx(addr)} maps a free frame ${pfn}`);
      if (f.isAnon(pfn)) rss[MM_ANONPAGES]!++;
      else if (vma.vm_file?.inode.mmapKind === "shmem") rss[MM_SHMEMPAGES]!++;
      else rss[MM_FILEPAGES]!++;
    }
    if (used !== t.used) fail(`PTE table ${key} counts ${t.used} entries, has ${used}`);
  }
  for (let c = 0; c < 4; c++) {
    if (mm.rss_stat[c] !== rss[c]) fail(`rss_stat[${c}] is ${mm.rss_stat[c]}, recounted ${rss[c]}`);
  }
}

/**
 * validate_machine(): frame reference and map counts recomputed over every mm and page cache of
 * the machine (the machine-level sibling of validate_mm).
 */
export function validate_machine(m: Machine, mms: Iterable<mm_struct>): void {
  const f = m.frames;
  const refs = new Map<number, number>();
  const maps = new Map<number, number>();
  const bump = (mp: Map<number, number>, k: number) => mp.set(k, (mp.get(k) ?? 0) + 1);
  const inodes = new Set<import("../fs/file.js").Inode>();
  for (const mm of mms) {
    validate_mm(m, mm, { checkMergeable: false });
    for (const t of mm.pgd.ptes.values()) {
      for (let i = 0; i < PTRS_PER_PTE; i++) {
        const bits = t.bits[i]!;
        if (!(bits & PTE_PRESENT) || bits & PTE_SPECIAL) continue;
        bump(refs, t.pfn[i]!);
        bump(maps, t.pfn[i]!);
      }
    }
    for (const v of mm.mm_mt) if (v.vm_file) inodes.add(v.vm_file.inode);
  }
  for (const inode of m.fs.files()) inodes.add(inode);
  for (const inode of inodes) for (const pfn of inode.i_pages.values()) bump(refs, pfn);
  for (const pfn of f.allocated()) {
    const r = refs.get(pfn) ?? 0;
    const mc = maps.get(pfn) ?? 0;
    if (f._refcount[pfn] !== r) fail(`frame ${pfn} _refcount ${f._refcount[pfn]}, recounted ${r}`);
    if (f.mapcount[pfn] !== mc) fail(`frame ${pfn} mapcount ${f.mapcount[pfn]}, recounted ${mc}`);
  }
  for (const pfn of refs.keys()) if (f._refcount[pfn]! <= 0) fail(`frame ${pfn} referenced but free`);
}
