/**
 * Tearing down mappings of pages: zap_page_range_single()/unmap_vmas() (munmap, MADV_DONTNEED,
 * exit) and the page-table freeing that follows an unmap (free_pgtables).
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import { PG_anon } from "../mem/frames.js";
import { PTE_GUARD, PTE_HWPOISON, PTE_SPECIAL, PTE_SWAP } from "./page_table.js";
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  type mm_struct,
  type vm_area_struct,
} from "./types.js";

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
  const f = m.frames;
  const pgd = mm.pgd;
  const rss = mm.rss_stat;
  const fileCounter = vma.vm_file?.inode.mmapKind === "shmem" ? MM_SHMEMPAGES : MM_FILEPAGES;
  let zapped = 0;
  let updatedHiwater = false;
  pgd.forEachBlock(start / PAGE_SIZE, end / PAGE_SIZE, (_b, _vpn, from, to) => {
    const ent = pgd.ent;
    for (let s = from; s < to; s++) {
      const pte = ent[s]!;
      if (pte === 0) continue;
      const bits = pte & 0xff;
      if (bits & PTE_GUARD) {
        if (!zapGuards) continue;
      } else if (bits & PTE_HWPOISON) {
        // A poisoned entry holds no page.
      } else if (bits & PTE_SWAP) {
        rss[MM_SWAPENTS]!--;
      } else if (!(bits & PTE_SPECIAL)) {
        if (!updatedHiwater) {
          mm.update_hiwater_rss();
          updatedHiwater = true;
        }
        const pfn = pte >>> 8;
        rss[f.flags[pfn]! & PG_anon ? MM_ANONPAGES : fileCounter]!--;
        f.mapcount[pfn]!--;
        f.put_page(pfn);
        zapped++;
      }
      // Clearing the block's last entry releases it; the rest of it is already none.
      pgd.set(s, 0);
    }
  });
  return zapped;
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
