/**
 * Page flags (PG_*), the bits of FrameTable.flags. Their own module so that the frame table and
 * the LRU lists, which both read them, do not import each other.
 */
export const PG_anon = 1 << 0;
export const PG_dirty = 1 << 1;
export const PG_referenced = 1 << 2;
export const PG_active = 1 << 3;
/** Mapped by a VM_LOCKED VMA: on the unevictable list (mlock_count > 0). */
export const PG_mlocked = 1 << 4;
export const PG_swapbacked = 1 << 5;
export const PG_zero = 1 << 6; // the shared zero page
/**
 * MADV_FREE'd (the kernel clears PG_swapbacked instead): on the file LRU, dropped by reclaim
 * unless written again, in which case reclaim clears it and keeps the page.
 */
export const PG_lazyfree = 1 << 7;
/** Part of a PMD-sized (2 MiB) anonymous huge page: AnonHugePages in smaps. */
export const PG_thp = 1 << 8;
/** PageAnonExclusive: only one mm maps this anonymous page (cleared when fork shares it). */
export const PG_anon_exclusive = 1 << 9;
/** In the swap cache: FrameTable.private holds its swap slot. */
export const PG_swapcache = 1 << 10;
/** Was on an active list before it was deactivated (a refault of it restores the workingset). */
export const PG_workingset = 1 << 11;
