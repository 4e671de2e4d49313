/**
 * Page reclaim (mm/vmscan.c) and the allocation slow path that runs it (mm/page_alloc.c
 * __alloc_pages_slowpath), synchronously, in the step that allocates.
 *
 * Before a path that allocates pages reads the state it works on, it calls reserve_pages(): if
 * the allocation would leave fewer free pages than the low watermark, kswapd's work runs first
 * (reclaim until the high watermark holds); if even the min watermark is not met after it, the
 * allocation reclaims directly, retrying while it makes progress; when nothing more can be
 * reclaimed, the OOM killer frees memory by killing a process (or there is nothing left to do:
 * out of memory). Reclaim may unmap any page that is not mlocked, the caller's included, which is
 * why it runs before the caller looks at its page tables.
 *
 * Under the "linux" policy reclaim is shrink_node(): the scan targets of the four evictable lists
 * come from get_scan_count() (swappiness, the relative cost of refaults, no anonymous scanning
 * without free swap), inactive lists are scanned from their tail (shrink_inactive_list), active
 * ones are aged into the inactive ones when those run short (shrink_active_list). A page found
 * referenced through its PTEs gets a second chance (folio_check_references); a reclaimable one is
 * unmapped (try_to_unmap: swap entries for anonymous pages, which get a swap slot first),
 * written if dirty (a file page to its file, an anonymous one to its slot; the writes are
 * synchronous, so the page is freed at once), and leaves the page or swap cache with a workingset
 * shadow. MADV_FREE'd pages are dropped unless written again; mlocked pages are never scanned.
 * The classic policies (fifo, lru, clock) pick victims from their single list instead and then
 * reclaim them the same way.
 *
 * Simplifications: kswapd reclaims what is missing to reach the high watermark rather than
 * batches of high_wmark pages; once a pass has reclaimed enough it stops instead of scaling the
 * remaining scan targets; writes complete at once.
 */
import { PAGE_SIZE } from "../abi/mman.js";
import { writeback_page } from "../fs/read_write.js";
import type { Machine } from "../machine.js";
import {
  folio_referenced,
  type Referenced,
  RmapIndex,
  RmapWalk,
  try_to_unmap,
  type Unmapped,
} from "../mm/rmap.js";
import type { mm_struct } from "../mm/types.js";
import { VM_EXEC } from "../mm/vm_flags.js";
import {
  folio_is_file_lru,
  is_active_lru,
  is_file_lru,
  LRU_ACTIVE_ANON,
  LRU_ACTIVE_FILE,
  LRU_CLASSIC,
  LRU_INACTIVE_ANON,
  LRU_INACTIVE_FILE,
  type Lruvec,
} from "./lru.js";
import { out_of_memory } from "./oom_kill.js";
import { nr_free_pages } from "./page_alloc.js";
import { delete_from_page_cache, shmem_writeout } from "./page_cache.js";
import {
  PG_active,
  PG_anon,
  PG_dirty,
  PG_lazyfree,
  PG_mlocked,
  PG_referenced,
  PG_swapbacked,
  PG_swapcache,
  PG_workingset,
} from "./page_flags.js";
import { workingset_age_nonresident, workingset_eviction } from "./workingset.js";

export const SWAP_CLUSTER_MAX = 32;
const DEF_PRIORITY = 12;
/** should_reclaim_retry(): direct reclaim passes without progress before the OOM killer. */
const MAX_RECLAIM_RETRIES = 16;
/** vm.swappiness's upper bound (MAX_SWAPPINESS). */
const MAX_SWAPPINESS = 200;

/** reserve_pages() outcomes. */
export const RESERVE_OK = 0;
/** The OOM killer killed the tasks of the allocating address space (it is torn down). */
export const RESERVE_KILLED = 1;
/** Nothing could be reclaimed and nothing could be killed (Linux would panic), or the caller may not kill. */
export const RESERVE_NOMEM = 2;

const DEACTIVATE_ANON = 1;
const DEACTIVATE_FILE = 2;

/** Who reclaims, for counters and events. */
export type ReclaimMode = "kswapd" | "direct" | "pageout";

/** struct scan_control, reduced: one reclaim run's targets, state and tallies. */
export interface ScanControl {
  mode: ReclaimMode;
  nr_to_reclaim: number;
  nr_reclaimed: number;
  nr_scanned: number;
  priority: number;
  /** DEACTIVATE_ANON | DEACTIVATE_FILE: which active lists may be aged this pass. */
  may_deactivate: number;
  cache_trim_mode: boolean;
  file_is_tiny: boolean;
  anon_cost: number;
  file_cost: number;
  /** The reverse map for this run, and its cursor. */
  rmap: RmapIndex;
  walk: RmapWalk;
  /** The task whose allocation reclaims (events). */
  pid: number;
  mm: number;
  /** Tallies for the reclaim event (nr_scanned restarts with each kswapd pass). */
  scanned_total: number;
  reclaimed_anon: number;
  reclaimed_file: number;
  swapped: number;
  written: number;
}

function scan_control(
  m: Machine,
  mode: ReclaimMode,
  mm: mm_struct | null,
  nr_to_reclaim: number,
): ScanControl {
  const rmap = new RmapIndex(m);
  return {
    mode,
    nr_to_reclaim,
    nr_reclaimed: 0,
    nr_scanned: 0,
    priority: DEF_PRIORITY,
    may_deactivate: 0,
    cache_trim_mode: false,
    file_is_tiny: false,
    anon_cost: 0,
    file_cost: 0,
    rmap,
    walk: new RmapWalk(m, rmap),
    pid: mm?.owner ?? 0,
    mm: mm?.id ?? 0,
    scanned_total: 0,
    reclaimed_anon: 0,
    reclaimed_file: 0,
    swapped: 0,
    written: 0,
  };
}

function watermark_ok(m: Machine, nr: number, mark: number): boolean {
  return nr_free_pages(m) - nr >= mark;
}

/**
 * Make room for `nr` page allocations by `mm` (null: no address space, e.g. a kernel-side read):
 * RESERVE_OK when they may go ahead (they will leave at least the min watermark free),
 * RESERVE_KILLED when the OOM killer chose the caller's own address space, RESERVE_NOMEM when
 * memory cannot be found (with may_oom false, the OOM killer is not tried: readahead).
 */
export function reserve_pages(m: Machine, nr: number, mm: mm_struct | null, may_oom = true): number {
  if (nr_free_pages(m) - nr >= m.watermarks.low) return RESERVE_OK;
  return __alloc_pages_slowpath(m, nr, mm, may_oom);
}

/** __alloc_pages_slowpath(): kswapd, then direct reclaim with retries, then the OOM killer. */
export function __alloc_pages_slowpath(
  m: Machine,
  nr: number,
  mm: mm_struct | null,
  may_oom: boolean,
): number {
  const wm = m.watermarks;
  for (;;) {
    // wake_all_kswapds(): here kswapd runs to completion first.
    kswapd_balance(m, nr, mm);
    if (watermark_ok(m, nr, wm.min)) return RESERVE_OK;
    let no_progress = 0;
    while (no_progress <= MAX_RECLAIM_RETRIES) {
      m.vm_events.allocstall_normal++;
      const progress = try_to_free_pages(m, nr, mm);
      if (watermark_ok(m, nr, wm.min)) return RESERVE_OK;
      if (progress) no_progress = 0;
      else no_progress++;
    }
    if (!may_oom) return RESERVE_NOMEM;
    // __alloc_pages_may_oom(): one more try at the high watermark, then a victim.
    if (watermark_ok(m, nr, wm.high)) return RESERVE_OK;
    if (!out_of_memory(m, mm)) return RESERVE_NOMEM;
    if (mm && mm.mm_users === 0) return RESERVE_KILLED;
    if (watermark_ok(m, nr, wm.min)) return RESERVE_OK;
  }
}

/**
 * kswapd: balance_pgdat() until the allocation leaves the high watermark free, as kswapd keeps
 * running while its node is unbalanced; it gives up after MAX_RECLAIM_RETRIES runs in a row that
 * reclaimed nothing (kswapd_failures). A run that finds every page referenced reclaims nothing
 * but uses up their second chance, so the next one can.
 */
function kswapd_balance(m: Machine, nr: number, mm: mm_struct | null): void {
  const high = m.watermarks.high;
  if (watermark_ok(m, nr, high)) return;
  const sc = scan_control(m, "kswapd", mm, 0);
  for (let failures = 0; failures < MAX_RECLAIM_RETRIES && !watermark_ok(m, nr, high); ) {
    const before = sc.nr_reclaimed;
    balance_pgdat(m, nr, sc);
    if (sc.nr_reclaimed === before) failures++;
    else failures = 0;
  }
  finish(m, sc);
}

/**
 * balance_pgdat(): one kswapd run, raising the scan priority while passes fall short, down to
 * priority 1, until the high watermark holds.
 */
function balance_pgdat(m: Machine, nr: number, sc: ScanControl): void {
  const high = m.watermarks.high;
  m.vm_events.pageoutrun++;
  for (sc.priority = DEF_PRIORITY; sc.priority >= 1; ) {
    if (watermark_ok(m, nr, high)) break;
    sc.nr_scanned = 0;
    sc.nr_to_reclaim = Math.max(SWAP_CLUSTER_MAX, high + nr - nr_free_pages(m));
    const before = sc.nr_reclaimed;
    shrink_node(m, sc);
    // kswapd_shrink_node(): enough scanned at this priority keeps it.
    if (sc.nr_scanned < sc.nr_to_reclaim || sc.nr_reclaimed === before) sc.priority--;
  }
}

/** try_to_free_pages() + do_try_to_free_pages(): direct reclaim of SWAP_CLUSTER_MAX pages. */
function try_to_free_pages(m: Machine, _nr: number, mm: mm_struct | null): number {
  const sc = scan_control(m, "direct", mm, SWAP_CLUSTER_MAX);
  for (; sc.priority >= 0; sc.priority--) {
    shrink_node(m, sc);
    if (sc.nr_reclaimed >= sc.nr_to_reclaim) break;
  }
  finish(m, sc);
  return sc.nr_reclaimed;
}

/** The end of a reclaim run: snapshot_refaults(), and the reclaim event. */
function finish(m: Machine, sc: ScanControl): void {
  const lruvec = m.frames.lruvec;
  lruvec.refaults[0] = m.vm_events.workingset_activate_anon;
  lruvec.refaults[1] = m.vm_events.workingset_activate_file;
  if (m.sink)
    m.emit({
      type: "reclaim",
      pid: sc.pid,
      mm: sc.mm,
      mode: sc.mode,
      policy: lruvec.policy,
      scanned: sc.scanned_total,
      reclaimed: sc.nr_reclaimed,
      anon: sc.reclaimed_anon,
      file: sc.reclaimed_file,
      swapped: sc.swapped,
      written: sc.written,
      free: Math.max(0, nr_free_pages(m)),
    });
}

/** shrink_node(): one reclaim pass at sc.priority, by the machine's replacement policy. */
function shrink_node(m: Machine, sc: ScanControl): void {
  const lruvec = m.frames.lruvec;
  if (lruvec.policy !== "linux") {
    shrink_classic(m, sc);
    return;
  }
  prepare_scan_control(m, sc);
  shrink_lruvec(m, sc);
}

/** inactive_is_low(): the inactive list of a kind is short of its share of the kind. */
export function inactive_is_low(lruvec: Lruvec, inactive_lru: number): boolean {
  const inactive = lruvec.nr_pages[inactive_lru]!;
  const active = lruvec.nr_pages[inactive_lru + 1]!;
  const gb = Math.floor((inactive + active) / (2 ** 30 / PAGE_SIZE));
  const inactive_ratio = gb ? Math.floor(Math.sqrt(10 * gb)) : 1;
  return inactive * inactive_ratio < active;
}

/** can_age_anon_pages(): aging the anonymous lists is worth it only with swap to go to. */
function can_age_anon_pages(m: Machine): boolean {
  return m.total_swap_pages > 0;
}

/**
 * prepare_scan_control(): which active lists may be deactivated (a kind that refaulted into the
 * workingset since the last run, or whose inactive list is short), whether there is so much
 * inactive page cache that only it is scanned (cache_trim_mode), and whether page cache is so
 * scarce that anonymous memory must go (file_is_tiny).
 */
function prepare_scan_control(m: Machine, sc: ScanControl): void {
  const lruvec = m.frames.lruvec;
  const nr = lruvec.nr_pages;
  sc.anon_cost = lruvec.anon_cost;
  sc.file_cost = lruvec.file_cost;
  sc.may_deactivate = 0;
  if (
    m.vm_events.workingset_activate_anon !== lruvec.refaults[0] ||
    inactive_is_low(lruvec, LRU_INACTIVE_ANON)
  )
    sc.may_deactivate |= DEACTIVATE_ANON;
  if (
    m.vm_events.workingset_activate_file !== lruvec.refaults[1] ||
    inactive_is_low(lruvec, LRU_INACTIVE_FILE)
  )
    sc.may_deactivate |= DEACTIVATE_FILE;
  sc.cache_trim_mode = nr[LRU_INACTIVE_FILE]! >> sc.priority > 0 && !(sc.may_deactivate & DEACTIVATE_FILE);
  const free = nr_free_pages(m);
  const file = nr[LRU_ACTIVE_FILE]! + nr[LRU_INACTIVE_FILE]!;
  sc.file_is_tiny =
    file + free <= m.watermarks.high &&
    !(sc.may_deactivate & DEACTIVATE_ANON) &&
    nr[LRU_INACTIVE_ANON]! >> sc.priority > 0;
}

/**
 * get_scan_count(): how many pages of each evictable list to scan at this priority: a share of the
 * list (size >> priority), anon against file by swappiness and the kinds' reclaim costs; only file
 * pages without free swap or with plenty of inactive page cache, only anon when page cache is
 * nearly gone, both alike at priority 0.
 */
function get_scan_count(m: Machine, sc: ScanControl): number[] {
  const lruvec = m.frames.lruvec;
  const swappiness = m.profile.swappiness;
  type Balance = "equal" | "fract" | "anon" | "file";
  let balance: Balance;
  let fraction = [0, 0];
  let denominator = 1;
  if (m.swap.nr_swap_pages <= 0) balance = "file";
  else if (sc.priority === 0 && swappiness) balance = "equal";
  else if (sc.file_is_tiny) balance = "anon";
  else if (sc.cache_trim_mode) balance = "file";
  else {
    balance = "fract";
    let total_cost = sc.anon_cost + sc.file_cost;
    const anon_cost = total_cost + sc.anon_cost;
    const file_cost = total_cost + sc.file_cost;
    total_cost = anon_cost + file_cost;
    const ap = Math.floor((swappiness * (total_cost + 1)) / (anon_cost + 1));
    const fp = Math.floor(((MAX_SWAPPINESS - swappiness) * (total_cost + 1)) / (file_cost + 1));
    fraction = [ap, fp];
    denominator = ap + fp;
  }
  const nr = [0, 0, 0, 0];
  for (let lru = 0; lru < 4; lru++) {
    const file = is_file_lru(lru) ? 1 : 0;
    let scan = Math.floor(lruvec.nr_pages[lru]! / 2 ** sc.priority);
    if (balance === "fract") scan = denominator ? Math.floor((scan * fraction[file]!) / denominator) : 0;
    else if ((balance === "file" && !file) || (balance === "anon" && file)) scan = 0;
    nr[lru] = scan;
  }
  return nr;
}

/** shrink_lruvec(): scan the lists in batches of SWAP_CLUSTER_MAX until the targets are met. */
function shrink_lruvec(m: Machine, sc: ScanControl): void {
  const lruvec = m.frames.lruvec;
  const nr = get_scan_count(m, sc);
  let nr_reclaimed = 0;
  while (nr[LRU_INACTIVE_ANON] || nr[LRU_ACTIVE_FILE] || nr[LRU_INACTIVE_FILE]) {
    for (let lru = 0; lru < 4; lru++) {
      if (!nr[lru]) continue;
      const n = Math.min(nr[lru]!, SWAP_CLUSTER_MAX);
      nr[lru]! -= n;
      nr_reclaimed += shrink_list(m, sc, lru, n);
    }
    // The kernel then scales down the other kind's remaining scan; here the pass simply ends.
    if (nr_reclaimed >= sc.nr_to_reclaim) break;
  }
  sc.nr_reclaimed += nr_reclaimed;
  // Keep the anonymous lists balanced even when only page cache was scanned.
  if (can_age_anon_pages(m) && inactive_is_low(lruvec, LRU_INACTIVE_ANON))
    shrink_active_list(m, sc, SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
}

function shrink_list(m: Machine, sc: ScanControl, lru: number, n: number): number {
  if (is_active_lru(lru)) {
    if (sc.may_deactivate & (is_file_lru(lru) ? DEACTIVATE_FILE : DEACTIVATE_ANON))
      shrink_active_list(m, sc, n, lru);
    return 0;
  }
  return shrink_inactive_list(m, sc, n, lru);
}

/**
 * isolate_lru_folios(): up to n pages off the tail of physical list p, oldest first, each with a
 * reference held (so that unmapping it cannot free it under reclaim's feet).
 */
function isolate_lru_folios(m: Machine, p: number, n: number): number[] {
  const f = m.frames;
  const lruvec = f.lruvec;
  const out: number[] = [];
  for (let pfn = lruvec.tail[p]!; pfn && out.length < n; ) {
    const prev = lruvec.prev[pfn]!;
    lruvec.del(pfn);
    f.get_page(pfn);
    out.push(pfn);
    pfn = prev;
  }
  return out;
}

/**
 * move_folios_to_lru(): kept pages back onto the head of the lists their flags say, in the order
 * they were taken (an activation ages the workingset clock), dropping the isolation reference.
 */
function putback(m: Machine, pages: readonly number[]): void {
  const f = m.frames;
  const lruvec = f.lruvec;
  for (const pfn of pages) {
    lruvec.add(pfn);
    if (f.flags[pfn]! & PG_active) workingset_age_nonresident(lruvec, 1);
    f.put_page(pfn);
  }
}

/**
 * shrink_active_list(): age n pages from the tail of an active list: each loses its accessed bits
 * and goes to the inactive list (marked as having been in the workingset), except executable file
 * pages that were referenced, which stay active.
 */
function shrink_active_list(m: Machine, sc: ScanControl, n: number, lru: number): void {
  const f = m.frames;
  const taken = isolate_lru_folios(m, f.lruvec.list_of(lru), n);
  m.vm_events.pgrefill += taken.length;
  const ref: Referenced = { vm_flags: 0 };
  let deactivated = 0;
  for (const pfn of taken) {
    const refs = folio_referenced(sc.walk, pfn, ref);
    if (refs && ref.vm_flags & VM_EXEC && is_file_lru(lru)) continue;
    f.flags[pfn] = (f.flags[pfn]! & ~PG_active) | PG_workingset;
    deactivated++;
  }
  putback(m, taken);
  m.vm_events.pgdeactivate += deactivated;
}

/** shrink_inactive_list(): reclaim what it can of n pages from the tail of an inactive list. */
function shrink_inactive_list(m: Machine, sc: ScanControl, n: number, lru: number): number {
  const taken = isolate_lru_folios(m, m.frames.lruvec.list_of(lru), n);
  if (taken.length === 0) return 0;
  const file = is_file_lru(lru);
  count_scanned(m, sc, file, taken.length);
  const out: FolioListStats = { kept: [], nr_pageout: 0 };
  const reclaimed = shrink_folio_list(m, sc, taken, false, out);
  putback(m, out.kept);
  m.frames.lruvec.note_cost(file, out.nr_pageout, taken.length - reclaimed);
  return reclaimed;
}

function count_scanned(m: Machine, sc: ScanControl, file: boolean, n: number): void {
  const e = m.vm_events;
  sc.nr_scanned += n;
  sc.scanned_total += n;
  if (sc.mode === "kswapd") e.pgscan_kswapd += n;
  else e.pgscan_direct += n;
  if (file) e.pgscan_file += n;
  else e.pgscan_anon += n;
}

interface FolioListStats {
  /** Isolated pages that stay (to be put back). */
  kept: number[];
  /** Pages written (to swap or to their file). */
  nr_pageout: number;
}

const FOLIOREF_RECLAIM = 0;
const FOLIOREF_RECLAIM_CLEAN = 1;
const FOLIOREF_KEEP = 2;
const FOLIOREF_ACTIVATE = 3;

/**
 * folio_check_references(): referenced through two PTEs, or through one after PG_referenced was
 * already set (a second trip round the inactive list), or through an executable file mapping:
 * activate; through one PTE the first time: set PG_referenced and keep it; otherwise reclaim (a
 * clean file page with PG_referenced only if it stays clean).
 */
function folio_check_references(m: Machine, sc: ScanControl, pfn: number, ref: Referenced): number {
  const f = m.frames;
  const referenced_ptes = folio_referenced(sc.walk, pfn, ref);
  const referenced_folio = (f.flags[pfn]! & PG_referenced) !== 0;
  f.flags[pfn]! &= ~PG_referenced;
  const file = folio_is_file_lru(f.flags[pfn]!);
  if (referenced_ptes) {
    f.flags[pfn]! |= PG_referenced;
    if (referenced_folio || referenced_ptes > 1) return FOLIOREF_ACTIVATE;
    if (ref.vm_flags & VM_EXEC && file) return FOLIOREF_ACTIVATE;
    return FOLIOREF_KEEP;
  }
  if (referenced_folio && file) return FOLIOREF_RECLAIM_CLEAN;
  return FOLIOREF_RECLAIM;
}

/**
 * shrink_folio_list(): decide each isolated page's fate. Returns the pages reclaimed (freed); the
 * others are in out.kept, activated or not. With ignore_references (MADV_PAGEOUT, and the classic
 * policies, which judged the references themselves) every evictable page is reclaimed if it can be.
 */
export function shrink_folio_list(
  m: Machine,
  sc: ScanControl,
  pages: readonly number[],
  ignore_references: boolean,
  out: FolioListStats,
): number {
  const ref: Referenced = { vm_flags: 0 };
  let reclaimed = 0;
  for (const pfn of pages) {
    const references = ignore_references ? FOLIOREF_RECLAIM : folio_check_references(m, sc, pfn, ref);
    const r = reclaim_folio(m, sc, pfn, references, out);
    if (r === RECLAIMED) reclaimed++;
    else {
      if (r === ACTIVATE) activate_locked(m, pfn);
      out.kept.push(pfn);
    }
  }
  return reclaimed;
}

const RECLAIMED = 0;
const KEEP = 1;
const ACTIVATE = 2;

/** activate_locked: a page that stays because it is in use gives up a swap slot it no longer needs and becomes active. */
function activate_locked(m: Machine, pfn: number): void {
  const f = m.frames;
  const pf = f.flags[pfn]!;
  if (pf & PG_swapcache && (m.swap.vm_swap_full() || pf & PG_mlocked)) m.swap.folio_free_swap(pfn);
  if (!(f.flags[pfn]! & PG_mlocked)) {
    f.flags[pfn]! |= PG_active;
    m.vm_events.pgactivate++;
  }
}

/** The unmapping of the page being reclaimed, for its swap_out event. */
const unmapped: Unmapped = { pid: 0, mm: 0, addr: -1, nr: 0 };

/**
 * One page of shrink_folio_list(), isolated (an extra reference held): RECLAIMED when it was
 * freed (its isolation reference dropped), else KEEP or ACTIVATE (the caller puts it back).
 */
function reclaim_folio(
  m: Machine,
  sc: ScanControl,
  pfn: number,
  references: number,
  out: FolioListStats,
): number {
  const f = m.frames;
  const swap = m.swap;
  let pf = f.flags[pfn]!;
  if (pf & PG_mlocked) return KEEP;
  if (references === FOLIOREF_ACTIVATE) return ACTIVATE;
  if (references === FOLIOREF_KEEP) return KEEP;
  const anon = (pf & PG_anon) !== 0;
  if (!anon && pf & PG_swapbacked) return shmem_reclaim(m, sc, pfn, out);
  const lazy = anon && (pf & PG_lazyfree) !== 0;
  if (anon && !lazy && !(pf & PG_swapcache)) {
    // add_to_swap(): a slot, and the page in the swap cache, dirty (it has never been written there).
    const slot = swap.get_swap_page();
    if (!slot) return ACTIVATE;
    swap.add_to_swap_cache(pfn, slot);
    f.flags[pfn]! |= PG_dirty;
  }
  unmapped.nr = 0;
  unmapped.addr = -1;
  if (f.mapcount[pfn]! > 0 && !try_to_unmap(m, sc.walk, pfn, unmapped)) return ACTIVATE;
  pf = f.flags[pfn]!;
  let written = false;
  if (pf & PG_dirty) {
    if (lazy) return ACTIVATE;
    if (!anon) {
      // Only kswapd writes file pages back (others leave them to the flusher: they stay, dirty);
      // here the write completes at once, so the page can go.
      if (sc.mode !== "kswapd") return ACTIVATE;
      if (references === FOLIOREF_RECLAIM_CLEAN) return KEEP;
      const inode = sc.rmap.inode(f.mapping[pfn]!);
      if (!inode) return KEEP;
      writeback_page(m, inode, f.index[pfn]!, pfn);
      m.vm_events.nr_vmscan_write++;
      m.vm_events.pgpgout += PAGE_SIZE / 1024;
      out.nr_pageout++;
      sc.written++;
      if (m.sink)
        m.emit({ type: "writeback", pid: sc.pid, mm: sc.mm, file: inode.path, index: f.index[pfn]! });
    } else {
      f.flags[pfn]! &= ~PG_dirty;
      count_swap_writepage(m, f.content[pfn] === 0);
      out.nr_pageout++;
      written = true;
    }
  }
  // __remove_mapping(): only reclaim's reference and the cache's may be left.
  if (lazy) {
    if (f._refcount[pfn] !== 1) return KEEP;
    m.vm_events.pglazyfreed++;
  } else if (anon) {
    if (f._refcount[pfn] !== 2) return KEEP;
    const slot = f.swap_entry[pfn]!;
    if (swap.swap_map[slot]! > 0) {
      swap.evict_to_slot(pfn, workingset_eviction(m, pfn));
      sc.swapped++;
      if (m.sink) emit_swap_out(m, sc, slot, unmapped.nr, written);
    } else swap.delete_from_swap_cache(pfn);
    f.put_page(pfn);
  } else {
    if (f._refcount[pfn] !== 2) return KEEP;
    const inode = sc.rmap.inode(f.mapping[pfn]!);
    if (!inode) return KEEP;
    delete_from_page_cache(m, inode, f.index[pfn]!, workingset_eviction(m, pfn));
  }
  count_steal(m, sc, folio_is_file_lru(pf));
  f.put_page(pfn);
  return RECLAIMED;
}

/** swap_writepage()'s counts: a zero-filled page is only recorded (the zeromap), others are written. */
function count_swap_writepage(m: Machine, zero: boolean): void {
  if (zero) m.vm_events.swpout_zero++;
  else {
    m.vm_events.pswpout++;
    m.vm_events.pgpgout += PAGE_SIZE / 1024;
  }
}

/** A reclaimed page's counts: the scan's own, and pgsteal by who reclaimed it and by LRU type. */
function count_steal(m: Machine, sc: ScanControl, file: boolean): void {
  if (file) sc.reclaimed_file++;
  else sc.reclaimed_anon++;
  const e = m.vm_events;
  if (sc.mode === "kswapd") e.pgsteal_kswapd++;
  else if (sc.mode === "direct") e.pgsteal_direct++;
  if (file) e.pgsteal_file++;
  else e.pgsteal_anon++;
}

/** The swap_out event: the last mapping try_to_unmap() removed, or the scan's task if none was. */
function emit_swap_out(m: Machine, sc: ScanControl, slot: number, mapped: number, written: boolean): void {
  m.emit({
    type: "swap_out",
    pid: unmapped.nr ? unmapped.pid : sc.pid,
    mm: unmapped.nr ? unmapped.mm : sc.mm,
    addr: unmapped.nr ? unmapped.addr : null,
    slot,
    mapped,
    written,
  });
}

/**
 * A shmem page (on the anon lists, swap-backed): unmapped from every mapping, then written to a
 * swap slot that takes its place in the page cache (shmem_writeout); with no free slot it stays,
 * activated.
 */
function shmem_reclaim(m: Machine, sc: ScanControl, pfn: number, out: FolioListStats): number {
  const f = m.frames;
  if (m.swap.nr_swap_pages <= 0) return ACTIVATE;
  const inode = sc.rmap.inode(f.mapping[pfn]!);
  if (!inode) return KEEP;
  unmapped.nr = 0;
  unmapped.addr = -1;
  if (f.mapcount[pfn]! > 0 && !try_to_unmap(m, sc.walk, pfn, unmapped)) return ACTIVATE;
  // Only reclaim's reference and the page cache's may be left.
  if (f._refcount[pfn] !== 2) return KEEP;
  const slot = m.swap.get_swap_page();
  const zero = f.content[pfn] === 0;
  shmem_writeout(m, inode, f.index[pfn]!, slot, workingset_eviction(m, pfn));
  f.flags[pfn]! &= ~PG_dirty;
  count_swap_writepage(m, zero);
  out.nr_pageout++;
  sc.swapped++;
  if (m.sink) emit_swap_out(m, sc, slot, 0, !zero);
  count_steal(m, sc, false);
  f.put_page(pfn);
  return RECLAIMED;
}

/**
 * The classic policies' pass: victims from the tail of their one list. fifo and lru take the
 * oldest (least recently used) page whatever its bits; clock gives a referenced page (an accessed
 * bit in a PTE mapping it, or PG_referenced) a second chance: the bits are cleared and it goes to
 * the head. A page that cannot be reclaimed now (anonymous without a free swap slot, shmem) goes
 * to the head too. The pass scans at most twice the list's length (size >> priority, at least a
 * cluster, per call), until enough is reclaimed.
 */
function shrink_classic(m: Machine, sc: ScanControl): void {
  const f = m.frames;
  const lruvec = f.lruvec;
  const clock = lruvec.policy === "clock";
  const ref: Referenced = { vm_flags: 0 };
  const len = lruvec.nr_evictable;
  const budget = Math.min(2 * len, Math.max(SWAP_CLUSTER_MAX, Math.floor(len / 2 ** sc.priority)));
  const out: FolioListStats = { kept: [], nr_pageout: 0 };
  let nr_reclaimed = 0;
  for (let scanned = 0; scanned < budget && nr_reclaimed < sc.nr_to_reclaim; scanned++) {
    const taken = isolate_lru_folios(m, LRU_CLASSIC, 1);
    if (taken.length === 0) break;
    const pfn = taken[0]!;
    count_scanned(m, sc, folio_is_file_lru(f.flags[pfn]!), 1);
    if (clock) {
      const refs = folio_referenced(sc.walk, pfn, ref);
      const pg = (f.flags[pfn]! & PG_referenced) !== 0;
      f.flags[pfn]! &= ~PG_referenced;
      if (refs || pg) {
        putback(m, taken);
        continue;
      }
    }
    out.kept.length = 0;
    const r = reclaim_folio(m, sc, pfn, FOLIOREF_RECLAIM, out);
    if (r === RECLAIMED) nr_reclaimed++;
    else {
      // No active list here: a page kept stays inactive.
      f.flags[pfn]! &= ~PG_active;
      if (f.flags[pfn]! & PG_swapcache && m.swap.vm_swap_full()) m.swap.folio_free_swap(pfn);
      putback(m, taken);
    }
  }
  sc.nr_reclaimed += nr_reclaimed;
}

/**
 * reclaim_pages() for MADV_PAGEOUT: the given pages (mapped only by the caller) are reclaimed
 * whatever their referenced bits; those that cannot be go back, anonymous ones activated (no swap
 * slot) as the kernel does. Returns the pages reclaimed.
 */
export function reclaim_pages(m: Machine, mm: mm_struct, pfns: readonly number[]): number {
  const f = m.frames;
  const sc = scan_control(m, "pageout", mm, pfns.length);
  const taken: number[] = [];
  for (const pfn of pfns) {
    if (!f.lruvec.lru[pfn]) continue;
    f.lruvec.del(pfn);
    f.get_page(pfn);
    taken.push(pfn);
  }
  if (taken.length === 0) return 0;
  for (const pfn of taken) count_scanned(m, sc, folio_is_file_lru(f.flags[pfn]!), 1);
  const out: FolioListStats = { kept: [], nr_pageout: 0 };
  const reclaimed = shrink_folio_list(m, sc, taken, true, out);
  putback(m, out.kept);
  sc.nr_reclaimed = reclaimed;
  finish(m, sc);
  return reclaimed;
}
