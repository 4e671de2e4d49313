/**
 * /proc/meminfo and /proc/vmstat of one machine (fs/proc/meminfo.c, mm/vmstat.c, mm/show_mem.c
 * si_mem_available), computed from its real state: the frame table (anonymous, page-cache and shmem
 * pages, their flags and mapcounts), the page tables of every live mm, the tasks, the profile (RAM,
 * swap, overcommit) and Committed_AS.
 *
 * What the machine does not simulate reads as 0: slab, vmalloc, per-cpu and other kernel memory,
 * buffers, writeback, hugetlb. The kernel's own memory is therefore only page tables and kernel
 * stacks. One memory zone is assumed (for the watermarks MemAvailable subtracts). LRU placement
 * follows the page flags (PG_active; mlocked pages are unevictable), so reclaim can move pages later.
 */
import { PAGE_SIZE, TASK_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import { vm_commit_limit } from "../mm/accounting.js";
import { PTE_PRESENT, PTE_SPECIAL, PTE_SWAP, pte_pfn } from "../mm/page_table.js";
import type { mm_struct } from "../mm/types.js";
import { VM_LOCKED } from "../mm/vm_flags.js";
import { PG_active, PG_anon, PG_dirty, PG_swapbacked, PG_thp } from "./frames.js";

/** THREAD_SIZE on x86_64 (16 KiB kernel stack per task). */
export const THREAD_SIZE = 16384;
/** HPAGE_PMD_NR: base pages in a PMD-sized huge page. */
const HPAGE_PMD_NR = 512;
/** VMALLOC_TOTAL on x86_64 with 4-level paging, in kB. */
const VMALLOC_TOTAL_KB = 34359738367;
/** vm.watermark_scale_factor default (units of 1/10000 of the zone). */
const WATERMARK_SCALE_FACTOR = 10;

/** Page counts by kind: node_page_state() and friends for the one simulated node. */
export interface MemState {
  totalram: number;
  free: number;
  file_pages: number;
  shmem: number;
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

/** The live address spaces, each once (threads and vfork children share one). */
function live_mms(m: Machine): mm_struct[] {
  const seen = new Set<mm_struct>();
  for (const t of m.tasks.values()) if (t.mm) seen.add(t.mm);
  return [...seen];
}

/** int_sqrt(). */
function int_sqrt(x: number): number {
  return Math.floor(Math.sqrt(x));
}

/**
 * init_per_zone_wmark_min() + __setup_per_zone_wmarks() for one zone of `pages`:
 * min_free_kbytes = sqrt(lowmem_kbytes * 16) in [128, 262144]; low/high add
 * max(min / 4, pages * watermark_scale_factor / 10000) once and twice.
 */
export function zone_watermarks(pages: number): { min: number; low: number; high: number } {
  const lowmem_kbytes = pages * (PAGE_SIZE / 1024);
  const min_free_kbytes = Math.min(262144, Math.max(128, int_sqrt(lowmem_kbytes * 16)));
  const min = Math.floor(min_free_kbytes / (PAGE_SIZE / 1024));
  const tmp = Math.max(Math.floor(min / 4), Math.floor((pages * WATERMARK_SCALE_FACTOR) / 10000));
  return { min, low: min + tmp, high: min + 2 * tmp };
}

/** Count every page of the machine by kind. */
export function mem_state(m: Machine): MemState {
  const f = m.frames;
  const mms = live_mms(m);
  // mlocked pages: mapped by a VM_LOCKED VMA (mlock_folio() marks them unevictable).
  const locked = new Set<number>();
  const swapSlots = new Set<number>();
  let pagetable_bytes = 0;
  for (const mm of mms) {
    pagetable_bytes += mm.pgd.pgtables_bytes;
    const ent = () => mm.pgd.ent;
    for (const v of mm.mm_mt) {
      if (!(v.vm_flags & VM_LOCKED)) continue;
      mm.pgd.forEach(v.vm_start / PAGE_SIZE, v.vm_end / PAGE_SIZE, (_vpn, slot) => {
        const pte = ent()[slot]!;
        if (pte & PTE_PRESENT && !(pte & PTE_SPECIAL)) locked.add(pte_pfn(pte));
      });
    }
    mm.pgd.forEach(0, TASK_SIZE / PAGE_SIZE, (_vpn, slot) => {
      const pte = ent()[slot]!;
      if (pte & PTE_SWAP) swapSlots.add(pte_pfn(pte));
    });
  }
  const s: MemState = {
    totalram: m.totalram_pages,
    free: 0,
    file_pages: 0,
    shmem: 0,
    anon_mapped: 0,
    file_mapped: 0,
    file_dirty: 0,
    inactive_anon: 0,
    active_anon: 0,
    inactive_file: 0,
    active_file: 0,
    unevictable: 0,
    mlock: 0,
    anon_thps: 0,
    pagetable: Math.floor(pagetable_bytes / PAGE_SIZE),
    kernel_stack_kb: 0,
    swap_total: m.total_swap_pages,
    swap_used: swapSlots.size,
    committed_as: Math.max(0, m.vm_committed_as),
    commit_limit: vm_commit_limit(m),
    wmark_min: 0,
    wmark_low: 0,
    wmark_high: 0,
  };
  let used = 0;
  for (let pfn = 1; pfn < f.pfn_bound; pfn++) {
    // The zero page is part of the kernel image, not of the page allocator's memory.
    if (f.isFree(pfn) || pfn === f.zero_pfn) continue;
    used++;
    const pf = f.flags[pfn]!;
    const anon = (pf & PG_anon) !== 0;
    const swapbacked = (pf & PG_swapbacked) !== 0;
    const mapped = f.mapcount[pfn]! > 0;
    if (anon) {
      if (mapped) s.anon_mapped++;
      if (pf & PG_thp) s.anon_thps++;
    } else {
      s.file_pages++;
      if (swapbacked) s.shmem++;
      else if (pf & PG_dirty) s.file_dirty++;
      if (mapped) s.file_mapped++;
    }
    if (locked.has(pfn)) {
      s.unevictable++;
      s.mlock++;
    } else if (anon || swapbacked) {
      if (pf & PG_active) s.active_anon++;
      else s.inactive_anon++;
    } else if (pf & PG_active) s.active_file++;
    else s.inactive_file++;
  }
  for (const t of m.tasks.values())
    if (t.state === "running" || t.state === "vfork-waiting") s.kernel_stack_kb += THREAD_SIZE / 1024;
  const kernel_stack_pages = Math.ceil((s.kernel_stack_kb * 1024) / PAGE_SIZE);
  s.free = Math.max(0, s.totalram - used - s.pagetable - kernel_stack_pages);
  const w = zone_watermarks(s.totalram);
  s.wmark_min = w.min;
  s.wmark_low = w.low;
  s.wmark_high = w.high;
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
    ["Cached", k(s.file_pages)],
    ["SwapCached", 0],
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

/** /proc/vmstat as [name, value] pairs in the kernel's order (the counters this machine has). */
export function vmstat_values(m: Machine): [string, number][] {
  const s = mem_state(m);
  const events = m.vm_events;
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
    ["nr_anon_pages", s.anon_mapped],
    ["nr_mapped", s.file_mapped],
    ["nr_file_pages", s.file_pages],
    ["nr_dirty", s.file_dirty],
    ["nr_writeback", 0],
    ["nr_shmem", s.shmem],
    ["nr_anon_transparent_hugepages", Math.floor(s.anon_thps / HPAGE_PMD_NR)],
    ["nr_kernel_stack", s.kernel_stack_kb],
    ["nr_page_table_pages", s.pagetable],
    ["nr_swapcached", 0],
    ["pswpin", 0],
    ["pswpout", 0],
    ["pgfault", events.pgfault],
    ["pgmajfault", events.pgmajfault],
  ];
}

/** /proc/vmstat: "name value" lines. */
export function show_vmstat(m: Machine): string {
  let out = "";
  for (const [name, v] of vmstat_values(m)) out += `${name} ${v}\n`;
  return out;
}
