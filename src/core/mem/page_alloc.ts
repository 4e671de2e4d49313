/**
 * The page allocator of the machine's one zone (mm/page_alloc.c): its watermarks, its free pages,
 * and the allocation of a page for a task or the page cache.
 *
 * RAM holds the machine's frames (every page a task maps, the page cache, the swap cache), its page
 * tables and one kernel stack per live task; what is left is free. Page tables and kernel stacks
 * are charged when they are made but never reclaim themselves: an allocation of a frame that
 * would leave fewer free pages than a watermark is what reclaims (see reserve_pages in vmscan.ts).
 */
import { PAGE_SIZE } from "../abi/mman.js";
import { invariant } from "../abi/ulong.js";
import type { Machine } from "../machine.js";

/** THREAD_SIZE on x86_64 (16 KiB kernel stack per task). */
export const THREAD_SIZE = 16384;
/** Pages of one kernel stack. */
export const KSTACK_PAGES = THREAD_SIZE / PAGE_SIZE;

/** The zone's watermarks, in pages (zone->_watermark[]). */
export interface Watermarks {
  min: number;
  low: number;
  high: number;
}

/** int_sqrt(). */
function int_sqrt(x: number): number {
  return Math.floor(Math.sqrt(x));
}

/** init_per_zone_wmark_min(): min_free_kbytes = sqrt(lowmem_kbytes * 16), in [128, 262144]. */
export function calculate_min_free_kbytes(pages: number): number {
  const lowmem_kbytes = pages * (PAGE_SIZE / 1024);
  return Math.min(262144, Math.max(128, int_sqrt(lowmem_kbytes * 16)));
}

/** pageblock_nr_pages: 2 MiB pageblocks of 4 KiB pages. */
const PAGEBLOCK_NR_PAGES = 512;
/** MIGRATE_PCPTYPES: unmovable, movable, reclaimable. */
const MIGRATE_PCPTYPES = 3;

/**
 * The populated zones up to ZONE_NORMAL of an x86_64 machine with `pages` of RAM: DMA (the first
 * 16 MiB), DMA32 (up to 4 GiB less the PCI hole, about 3 GiB of RAM), Normal above.
 */
function nr_lowmem_zones(pages: number): number {
  const bytes = pages * PAGE_SIZE;
  return bytes <= 16 * 2 ** 20 ? 1 : bytes <= 3 * 2 ** 30 ? 2 : 3;
}

/**
 * vm.min_free_kbytes as a kernel sets it at boot: init_per_zone_wmark_min's sqrt rule, then, with
 * THP enabled, khugepaged's set_recommended_min_free_kbytes(): two pageblocks per zone plus
 * MIGRATE_PCPTYPES^2 more (fragmentation avoidance), at most 5% of RAM, if that is more
 * (observed on this 6.18 host: 67584 kB = 512 x 3 zones x 11 pages x 4 kB).
 */
export function default_min_free_kbytes(pages: number, thpEnabled: boolean): number {
  const base = calculate_min_free_kbytes(pages);
  if (!thpEnabled) return base;
  const zones = nr_lowmem_zones(pages);
  let recommended = PAGEBLOCK_NR_PAGES * zones * 2 + PAGEBLOCK_NR_PAGES * zones * MIGRATE_PCPTYPES ** 2;
  recommended = Math.min(recommended, Math.floor(pages / 20));
  return Math.max(base, recommended * (PAGE_SIZE / 1024));
}

/**
 * __setup_per_zone_wmarks() for one zone of `pages`: min from min_free_kbytes (derived when null);
 * low and high add max(min / 4, pages * watermark_scale_factor / 10000) once and twice.
 */
export function zone_watermarks(
  pages: number,
  min_free_kbytes: number | null = null,
  watermark_scale_factor = 10,
  thpEnabled = false,
): Watermarks {
  const kbytes = min_free_kbytes ?? default_min_free_kbytes(pages, thpEnabled);
  const min = Math.floor(kbytes / (PAGE_SIZE / 1024));
  const tmp = Math.max(Math.floor(min / 4), Math.floor((pages * watermark_scale_factor) / 10000));
  return { min, low: min + tmp, high: min + 2 * tmp };
}

/** The watermarks of machine m from its profile (setup_per_zone_wmarks after a sysctl write). */
export function setup_per_zone_wmarks(m: Machine): Watermarks {
  const p = m.profile;
  return zone_watermarks(m.totalram_pages, p.minFreeKbytes, p.watermarkScaleFactor, p.thpEnabled);
}

/** Kernel stack pages: one stack per task that has not exited. */
export function nr_kernel_stack_pages(m: Machine): number {
  return (m.tasks.size - m.nr_zombies) * KSTACK_PAGES;
}

/** NR_FREE_PAGES: RAM less the frames in use, the page tables and the kernel stacks. */
export function nr_free_pages(m: Machine): number {
  return (
    m.totalram_pages -
    m.frames.nr_used -
    m.pgtable_acct.nr_pagetable -
    (m.tasks.size - m.nr_zombies) * KSTACK_PAGES
  );
}

/**
 * alloc_page() + lru_cache_add(): a zero-filled page for `mapping` at `index` with `flags`, on
 * the head of its LRU list. The caller has made room (reserve_pages) at a point where reclaim
 * was safe; there is always a frame left for it, since frames never exceed RAM.
 */
export function alloc_page(m: Machine, mapping: number, index: number, flags: number): number {
  const f = m.frames;
  invariant(f.nr_used < m.totalram_pages, "page allocation beyond RAM: no room was reserved");
  const pfn = f.alloc(mapping, index, flags);
  f.lruvec.add(pfn);
  return pfn;
}
