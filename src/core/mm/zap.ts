/**
 * Tearing down mappings of pages: zap_page_range_single()/unmap_vmas() (munmap, MADV_DONTNEED,
 * exit) and the page-table freeing that follows an unmap (free_pgtables).
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import { type FrameTable, PG_anon, PG_dirty, PG_referenced, PG_swapcache } from "../mem/frames.js";
import type { SwapInfo } from "../mem/swap.js";
import { PTE_DIRTY, PTE_GUARD, PTE_HWPOISON, PTE_SPECIAL, PTE_SWAP, PTE_YOUNG } from "./page_table.js";
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  type mm_struct,
  type vm_area_struct,
} from "./types.js";
import { VM_LOCKED } from "./vm_flags.js";

/**
 * Remove every PTE in [start, end) of vma, dropping the frames' map and reference counts.
 * Guard markers survive unless `zapGuards` (munmap/exit remove them; DONTNEED keeps them).
 */
export function zap_page_range(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  start: number,
  end: number,
  zapGuards: boolean,
): number {
  const pgd = mm.pgd;
  const acc = { anon: 0, file: 0, swap: 0 };
  // update_hiwater_rss() runs before the first page goes: the RSS it sees is this one.
  const rssBefore = mm.get_mm_rss();
  const blocks = pgd.blockList(start / PAGE_SIZE, end / PAGE_SIZE);
  const locked = (vma.vm_flags & VM_LOCKED) !== 0;
  for (let q = 0; q < blocks.length; q += 4) {
    const cleared = zap_pte_range(
      m.frames,
      m.swap,
      pgd.ent,
      blocks[q + 2]!,
      blocks[q + 3]!,
      zapGuards,
      locked,
      acc,
    );
    if (cleared) pgd.countCleared(blocks[q]!, cleared);
  }
  const zapped = acc.anon + acc.file;
  if (zapped && mm.hiwater_rss < rssBefore) mm.hiwater_rss = rssBefore;
  const fileCounter = vma.vm_file?.inode.mmapKind === "shmem" ? MM_SHMEMPAGES : MM_FILEPAGES;
  mm.rss_stat[MM_ANONPAGES]! -= acc.anon;
  mm.rss_stat[fileCounter]! -= acc.file;
  mm.rss_stat[MM_SWAPENTS]! -= acc.swap;
  return zapped;
}

/**
 * zap_pte_range(): clear the entries ent[from..to) (guard markers only with zapGuards), unmapping
 * and releasing their frames (munlocking them first in a VM_LOCKED VMA) and swap slots; counts
 * pages into acc.
 * Returns the entries cleared.
 */
function zap_pte_range(
  f: FrameTable,
  swap: SwapInfo,
  ent: Int32Array,
  from: number,
  to: number,
  zapGuards: boolean,
  locked: boolean,
  acc: { anon: number; file: number; swap: number },
): number {
  const flags = f.flags;
  const mapcount = f.mapcount;
  let cleared = 0;
  for (let s = from; s < to; s++) {
    const pte = ent[s]!;
    if (pte === 0) continue;
    if (pte & PTE_GUARD) {
      if (!zapGuards) continue;
    } else if (pte & PTE_HWPOISON) {
      // A poisoned entry holds no page.
    } else if (pte & PTE_SWAP) {
      // free_swap_and_cache(): the entry's slot (and the swap cache page nobody needs any more).
      swap.free_swap_and_cache(pte >>> 8);
      acc.swap++;
    } else if (!(pte & PTE_SPECIAL)) {
      const pfn = pte >>> 8;
      if (flags[pfn]! & PG_anon) acc.anon++;
      else {
        // zap_present_folio_ptes(): a page-cache page keeps what its PTE knew: written through
        // it (dirty, for writeback and every other mapper's smaps) and recently used.
        if (pte & PTE_DIRTY) flags[pfn]! |= PG_dirty;
        if (pte & PTE_YOUNG) flags[pfn]! |= PG_referenced;
        acc.file++;
      }
      mapcount[pfn]!--;
      if (locked) f.lruvec.munlock_folio(pfn);
      // free_pages_and_swap_cache(): an unmapped page no swap entry needs leaves the swap cache.
      if (flags[pfn]! & PG_swapcache && mapcount[pfn] === 0) swap.folio_free_swap(pfn);
      f.put_page(pfn);
    }
    ent[s] = 0;
    cleared++;
  }
  return cleared;
}

/**
 * free_pgtables() after an unmap: page tables whose whole span lies in the hole [floor, ceiling)
 * between the surviving neighbours are freed (the kernel keeps tables a neighbour may still use).
 */
export function free_pgtables(mm: mm_struct, floor: number, ceiling: number): void {
  const pmd = 512;
  const lo = Math.ceil(floor / PAGE_SIZE / pmd) * pmd;
  const hi = Math.floor(ceiling / PAGE_SIZE / pmd) * pmd;
  if (hi > lo) mm.pgd.freeRange(lo, hi);
}

/** The hole [prev.vm_end, next.vm_start) around an address that no VMA covers any more. */
export function hole_around(mm: mm_struct, addr: number): [number, number] {
  const next = mm.mm_mt.find(addr);
  const prev = next ? mm.mm_mt.prev(next) : mm.mm_mt.last();
  return [prev ? prev.vm_end : 0, next ? next.vm_start : mm.task_size + PAGE_SIZE];
}
