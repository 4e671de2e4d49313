/**
 * The machine's event counters (mm/vmstat.c vm_event_states, and the node counters that count
 * events rather than pages: workingset_*, nr_vmscan_write). Counted where the event happens, read
 * by /proc/vmstat (meminfo.ts). Plain numeric fields: incrementing one is a store, not a lookup.
 */
export class VmEvents {
  /** kB read from and written to the "disk" (file pages and swap). */
  pgpgin = 0;
  pgpgout = 0;
  /** Pages read from / written to swap. */
  pswpin = 0;
  pswpout = 0;
  /** Pages moved to an active list / to an inactive list. */
  pgactivate = 0;
  pgdeactivate = 0;
  /** Pages MADV_FREE made lazily freeable, and those reclaim then discarded. */
  pglazyfree = 0;
  pglazyfreed = 0;
  /** Faults a task took (min_flt + maj_flt), and the major ones. */
  pgfault = 0;
  pgmajfault = 0;
  /** Pages scanned on the active lists. */
  pgrefill = 0;
  /** Pages reclaimed and scanned on the inactive lists, by kswapd (the allocation's background step) and directly. */
  pgsteal_kswapd = 0;
  pgsteal_direct = 0;
  pgscan_kswapd = 0;
  pgscan_direct = 0;
  /** The same, by kind of page. */
  pgscan_anon = 0;
  pgscan_file = 0;
  pgsteal_anon = 0;
  pgsteal_file = 0;
  /** kswapd balancing runs, and allocations that had to reclaim directly. */
  pageoutrun = 0;
  allocstall_normal = 0;
  /** Processes the OOM killer killed. */
  oom_kill = 0;
  /** Pages reclaim found mapped by a VM_LOCKED VMA on an evictable list (moved to the unevictable one). */
  unevictable_pgs_culled = 0;
  /** Zero-filled pages that swap records without I/O (the swap device's zeromap). */
  swpin_zero = 0;
  swpout_zero = 0;
  /** Refaults of evicted pages, those found to be part of the workingset (activated), and of pages that were active before eviction. */
  workingset_refault_anon = 0;
  workingset_refault_file = 0;
  workingset_activate_anon = 0;
  workingset_activate_file = 0;
  workingset_restore_anon = 0;
  workingset_restore_file = 0;
  /** Dirty file pages reclaim wrote back itself. */
  nr_vmscan_write = 0;
}
