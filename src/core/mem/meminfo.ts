/**
 * /proc/meminfo and /proc/vmstat of one machine (fs/proc/meminfo.c, mm/vmstat.c, mm/show_mem.c
 * si_mem_available), computed from its real state: the frame table (anonymous, page-cache and shmem
 * pages, their flags and mapcounts), the page tables of every live mm, the tasks, the profile (RAM,
 * swap, overcommit) and Committed_AS.
 *
 * What the machine does not simulate reads as 0: slab, vmalloc, per-cpu and other kernel memory,
 * buffers, writeback, hugetlb. The kernel's own memory is therefore only page tables and kernel
 * stacks. One memory zone is assumed (its watermarks are the machine's). The LRU counts are the
 * lists' own (mem/lru.ts); every page in use is on one of them.
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import { vm_commit_limit } from "../mm/accounting.js";
import { PG_anon, PG_dirty, PG_swapbacked, PG_swapcache, PG_thp } from "./frames.js";
import {
  LRU_ACTIVE_ANON,
  LRU_ACTIVE_FILE,
  LRU_INACTIVE_ANON,
  LRU_INACTIVE_FILE,
  LRU_UNEVICTABLE,
} from "./lru.js";
import { nr_free_pages, nr_kernel_stack_pages } from "./page_alloc.js";

/** HPAGE_PMD_NR: base pages in a PMD-sized huge page. */
const HPAGE_PMD_NR = 512;
/** VMALLOC_TOTAL on x86_64 with 4-level paging, in kB. */
const VMALLOC_TOTAL_KB = 34359738367;

export { THREAD_SIZE, zone_watermarks } from "./page_alloc.js";

/** Page counts by kind: node_page_state() and friends for the one simulated node. */
export interface MemState {
  totalram: number;
  free: number;
  /** NR_FILE_PAGES: the page cache (shmem included) and the swap cache. */
  file_pages: number;
  shmem: number;
  swapcache: number;
  anon_mapped: number;
  file_mapped: number;
  file_dirty: number;
  inactive_anon: number;
  active_anon: number;
  inactive_file: number;
  active_file: number;
  unevictable: number;
  mlock: number;
  anon_thps: number;
  pagetable: number;
  kernel_stack_kb: number;
  swap_total: number;
  swap_used: number;
  committed_as: number;
  commit_limit: number;
  /** Watermarks of the one zone (pages). */
  wmark_min: number;
  wmark_low: number;
  wmark_high: number;
}

/**
 * Count every page of the machine by kind: the LRU lists, page tables, kernel stacks and free
 * pages from their counters; mapped, dirty, shmem and huge pages from a walk over the frames.
 */
export function mem_state(m: Machine): MemState {
  const f = m.frames;
  const lru = f.lruvec.nr_pages;
  const s: MemState = {
    totalram: m.totalram_pages,
    free: Math.max(0, nr_free_pages(m)),
    file_pages: 0,
    shmem: 0,
    swapcache: 0,
    anon_mapped: 0,
    file_mapped: 0,
    file_dirty: 0,
    inactive_anon: lru[LRU_INACTIVE_ANON]!,
    active_anon: lru[LRU_ACTIVE_ANON]!,
    inactive_file: lru[LRU_INACTIVE_FILE]!,
    active_file: lru[LRU_ACTIVE_FILE]!,
    unevictable: lru[LRU_UNEVICTABLE]!,
    mlock: f.lruvec.nr_mlock,
    anon_thps: 0,
    pagetable: m.pgtable_acct.nr_pagetable,
    kernel_stack_kb: (nr_kernel_stack_pages(m) * PAGE_SIZE) / 1024,
    swap_total: m.total_swap_pages,
    swap_used: m.swap.inuse_pages,
    committed_as: Math.max(0, m.vm_committed_as),
    commit_limit: vm_commit_limit(m),
    wmark_min: m.watermarks.min,
    wmark_low: m.watermarks.low,
    wmark_high: m.watermarks.high,
  };
  for (let pfn = 1; pfn < f.pfn_bound; pfn++) {
    // The zero page is part of the kernel image, not of the page allocator's memory.
    if (f.isFree(pfn) || pfn === f.zero_pfn) continue;
    const pf = f.flags[pfn]!;
    const mapped = f.mapcount[pfn]! > 0;
    if (pf & PG_anon) {
      if (mapped) s.anon_mapped++;
      if (pf & PG_thp) s.anon_thps++;
      if (pf & PG_swapcache) {
        s.swapcache++;
        s.file_pages++;
      }
    } else {
      s.file_pages++;
      if (pf & PG_swapbacked) s.shmem++;
      else if (pf & PG_dirty) s.file_dirty++;
      if (mapped) s.file_mapped++;
    }
  }
  return s;
}

/** si_mem_available(): free memory plus the page cache that could be dropped, less the reserves. */
export function si_mem_available(s: MemState): number {
  const totalreserve_pages = s.wmark_high;
  let available = s.free - totalreserve_pages;
  let pagecache = s.active_file + s.inactive_file;
  pagecache -= Math.min(Math.floor(pagecache / 2), s.wmark_low);
  available += pagecache;
  return Math.max(0, available);
}

/** /proc/meminfo as [name, kB] pairs (the HugePages_* counts are page counts, not kB). */
export function meminfo_values(m: Machine): [string, number][] {
  const s = mem_state(m);
  const k = (pages: number) => pages * (PAGE_SIZE / 1024);
  const out: [string, number][] = [
    ["MemTotal", k(s.totalram)],
    ["MemFree", k(s.free)],
    ["MemAvailable", k(si_mem_available(s))],
    ["Buffers", 0],
    ["Cached", k(s.file_pages - s.swapcache)],
    ["SwapCached", k(s.swapcache)],
    ["Active", k(s.active_anon + s.active_file)],
    ["Inactive", k(s.inactive_anon + s.inactive_file)],
    ["Active(anon)", k(s.active_anon)],
    ["Inactive(anon)", k(s.inactive_anon)],
    ["Active(file)", k(s.active_file)],
    ["Inactive(file)", k(s.inactive_file)],
    ["Unevictable", k(s.unevictable)],
    ["Mlocked", k(s.mlock)],
    ["SwapTotal", k(s.swap_total)],
    ["SwapFree", k(Math.max(0, s.swap_total - s.swap_used))],
    ["Zswap", 0],
    ["Zswapped", 0],
    ["Dirty", k(s.file_dirty)],
    ["Writeback", 0],
    ["AnonPages", k(s.anon_mapped)],
    ["Mapped", k(s.file_mapped)],
    ["Shmem", k(s.shmem)],
    ["KReclaimable", 0],
    ["Slab", 0],
    ["SReclaimable", 0],
    ["SUnreclaim", 0],
    ["KernelStack", s.kernel_stack_kb],
    ["PageTables", k(s.pagetable)],
    ["SecPageTables", 0],
    ["NFS_Unstable", 0],
    ["Bounce", 0],
    ["WritebackTmp", 0],
    ["CommitLimit", k(s.commit_limit)],
    ["Committed_AS", k(s.committed_as)],
    ["VmallocTotal", VMALLOC_TOTAL_KB],
    ["VmallocUsed", 0],
    ["VmallocChunk", 0],
    ["Percpu", 0],
  ];
  // CONFIG_MEMORY_FAILURE: poisoned pages are freed by the simulator, so none stay counted.
  if (m.profile.memoryFailure) out.push(["HardwareCorrupted", 0]);
  out.push(
    ["AnonHugePages", k(s.anon_thps)],
    ["ShmemHugePages", 0],
    ["ShmemPmdMapped", 0],
    ["FileHugePages", 0],
    ["FilePmdMapped", 0],
    ["HugePages_Total", 0],
    ["HugePages_Free", 0],
    ["HugePages_Rsvd", 0],
    ["HugePages_Surp", 0],
    ["Hugepagesize", (HPAGE_PMD_NR * PAGE_SIZE) / 1024],
    ["Hugetlb", 0],
  );
  return out;
}

/**
 * /proc/meminfo: "Name:" padded to 16 columns, the value in 8, " kB" (HugePages_* are counts in 5;
 * HardwareCorrupted has its own "%5lu kB").
 */
export function show_meminfo(m: Machine): string {
  let out = "";
  for (const [name, v] of meminfo_values(m)) {
    if (name.startsWith("HugePages_")) out += `${`${name}:`.padEnd(19)}${String(v).padStart(5)}\n`;
    else if (name === "HardwareCorrupted") out += `HardwareCorrupted: ${String(v).padStart(5)} kB\n`;
    else out += `${`${name}:`.padEnd(16)}${String(v).padStart(8)} kB\n`;
  }
  return out;
}

/**
 * /proc/vmstat as [name, value] pairs in the kernel's order (zone counters, node counters, then
 * events; the ones this machine has).
 */
export function vmstat_values(m: Machine): [string, number][] {
  const s = mem_state(m);
  const e = m.vm_events;
  const lruvec = m.frames.lruvec;
  return [
    ["nr_free_pages", s.free],
    ["nr_zone_inactive_anon", s.inactive_anon],
    ["nr_zone_active_anon", s.active_anon],
    ["nr_zone_inactive_file", s.inactive_file],
    ["nr_zone_active_file", s.active_file],
    ["nr_zone_unevictable", s.unevictable],
    ["nr_zone_write_pending", s.file_dirty],
    ["nr_mlock", s.mlock],
    ["nr_inactive_anon", s.inactive_anon],
    ["nr_active_anon", s.active_anon],
    ["nr_inactive_file", s.inactive_file],
    ["nr_active_file", s.active_file],
    ["nr_unevictable", s.unevictable],
    ["workingset_refault_anon", e.workingset_refault_anon],
    ["workingset_refault_file", e.workingset_refault_file],
    ["workingset_activate_anon", e.workingset_activate_anon],
    ["workingset_activate_file", e.workingset_activate_file],
    ["workingset_restore_anon", e.workingset_restore_anon],
    ["workingset_restore_file", e.workingset_restore_file],
    ["nr_anon_pages", s.anon_mapped],
    ["nr_mapped", s.file_mapped],
    ["nr_file_pages", s.file_pages],
    ["nr_dirty", s.file_dirty],
    ["nr_writeback", 0],
    ["nr_shmem", s.shmem],
    ["nr_anon_transparent_hugepages", Math.floor(s.anon_thps / HPAGE_PMD_NR)],
    ["nr_vmscan_write", e.nr_vmscan_write],
    ["nr_kernel_stack", s.kernel_stack_kb],
    ["nr_page_table_pages", s.pagetable],
    ["nr_swapcached", s.swapcache],
    ["pgpgin", e.pgpgin],
    ["pgpgout", e.pgpgout],
    ["pswpin", e.pswpin],
    ["pswpout", e.pswpout],
    ["allocstall_normal", e.allocstall_normal],
    ["pgactivate", e.pgactivate],
    ["pgdeactivate", e.pgdeactivate],
    ["pglazyfree", e.pglazyfree],
    ["pgfault", e.pgfault],
    ["pgmajfault", e.pgmajfault],
    ["pglazyfreed", e.pglazyfreed],
    ["pgrefill", e.pgrefill],
    ["pgsteal_kswapd", e.pgsteal_kswapd],
    ["pgsteal_direct", e.pgsteal_direct],
    ["pgscan_kswapd", e.pgscan_kswapd],
    ["pgscan_direct", e.pgscan_direct],
    ["pgscan_anon", e.pgscan_anon],
    ["pgscan_file", e.pgscan_file],
    ["pgsteal_anon", e.pgsteal_anon],
    ["pgsteal_file", e.pgsteal_file],
    ["pageoutrun", e.pageoutrun],
    ["oom_kill", e.oom_kill],
    ["unevictable_pgs_culled", e.unevictable_pgs_culled],
    ["unevictable_pgs_mlocked", lruvec.pgmlocked],
    ["unevictable_pgs_munlocked", lruvec.pgmunlocked],
    ["swpin_zero", e.swpin_zero],
    ["swpout_zero", e.swpout_zero],
  ];
}

/** /proc/vmstat: "name value" lines. */
export function show_vmstat(m: Machine): string {
  let out = "";
  for (const [name, v] of vmstat_values(m)) out += `${name} ${v}\n`;
  return out;
}
