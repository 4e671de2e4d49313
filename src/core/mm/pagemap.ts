/**
 * /proc/PID/pagemap (fs/proc/task_mmu.c pagemap_read, pte_to_pagemap_entry): one 64-bit entry per
 * virtual page. Bits 0-54 the PFN (or swap slot), 55 soft-dirty, 56 exclusively mapped, 58 guard
 * region, 61 file page or shared anon, 62 swapped, 63 present. PFNs are shown as a reader with
 * CAP_SYS_ADMIN sees them (the simulation's frame numbers).
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import { PTE_GUARD, PTE_PRESENT, PTE_SPECIAL, PTE_SWAP, pte_pfn } from "./page_table.js";
import type { mm_struct } from "./types.js";
import { VM_IO, VM_PFNMAP, VM_SOFTDIRTY } from "./vm_flags.js";

export const PM_PFRAME_MASK = (1n << 55n) - 1n;
export const PM_SOFT_DIRTY = 1n << 55n;
export const PM_MMAP_EXCLUSIVE = 1n << 56n;
export const PM_GUARD_REGION = 1n << 58n;
export const PM_FILE = 1n << 61n;
export const PM_SWAP = 1n << 62n;
export const PM_PRESENT = 1n << 63n;

/** The entries for the pages of [start, end) (page aligned; start <= end). */
export function pagemap_read(m: Machine, mm: mm_struct, start: number, end: number): bigint[] {
  const out: bigint[] = [];
  const f = m.frames;
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    const vma = mm.mm_mt.lookup(addr);
    if (!vma) {
      out.push(0n);
      continue;
    }
    let e = 0n;
    if (vma.vm_flags & VM_SOFTDIRTY) e |= PM_SOFT_DIRTY;
    const vpn = addr / PAGE_SIZE;
    const pte = mm.pgd.get(vpn);
    if (pte & PTE_PRESENT) {
      const pfn = pte_pfn(pte);
      e |= PM_PRESENT | BigInt(pfn);
      // New PTEs are soft-dirty (pte_mksoft_dirty at fault) and nothing clears them here.
      if (m.profile.softDirty) e |= PM_SOFT_DIRTY;
      // vm_normal_page(): no struct page for the zero page or PFN/IO maps.
      const normal = !(pte & PTE_SPECIAL) && !(vma.vm_flags & (VM_PFNMAP | VM_IO));
      if (normal) {
        if (!f.isAnon(pfn)) e |= PM_FILE;
        if (f.mapcount[pfn] === 1) e |= PM_MMAP_EXCLUSIVE;
      }
    } else if (pte & PTE_SWAP) {
      // Swap type 0, the slot above it; the entry keeps the PTE's soft-dirty bit.
      e |= PM_SWAP | (BigInt(pte_pfn(pte)) << 5n);
      if (m.profile.softDirty) e |= PM_SOFT_DIRTY;
    } else if (pte & PTE_GUARD) {
      e |= PM_GUARD_REGION;
    }
    out.push(e);
  }
  return out;
}
