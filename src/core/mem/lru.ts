/**
 * The LRU lists of the machine's one node (struct lruvec; mm/swap.c, mm/mlock.c, the list helpers
 * of mm/vmscan.c). Every page in use (anonymous, page cache, shmem, swap cache) is on exactly one
 * list; reclaim takes pages from the tail of the inactive lists.
 *
 * The lists are intrusive and doubly linked in typed arrays indexed by pfn (no per-page object):
 * `next`/`prev` link a page to its neighbours, `lru` says which list it is on. The head holds the
 * most recently added pages.
 *
 * Which list a page belongs on follows from its flags (folio_lru_list): mlocked pages are
 * unevictable; swap-backed pages (anonymous and shmem) are "anon", the rest (and MADV_FREE'd
 * anonymous pages) "file"; PG_active picks the active list. Under the classic replacement
 * policies (fifo, lru, clock) the evictable pages of all four lists share one physical list, so
 * that one order covers every page, while the counts still say what kind each page is.
 */
import type { FrameTable } from "./frames.js";
import { PG_active, PG_lazyfree, PG_mlocked, PG_referenced, PG_swapbacked } from "./page_flags.js";
import type { VmEvents } from "./vmstat.js";

export const LRU_INACTIVE_ANON = 0;
export const LRU_ACTIVE_ANON = 1;
export const LRU_INACTIVE_FILE = 2;
export const LRU_ACTIVE_FILE = 3;
export const LRU_UNEVICTABLE = 4;
export const NR_LRU_LISTS = 5;
/** The one list of the evictable pages under a classic policy (not a kernel list). */
export const LRU_CLASSIC = 5;
const NR_PHYS_LISTS = 6;

/**
 * How a machine chooses pages to evict: `linux` (active/inactive lists, second chance through the
 * referenced bits, workingset refault detection), or the classic textbook policies on one list:
 * `fifo` (oldest page first, references ignored), `lru` (least recently accessed first: every
 * access moves the page to the head), `clock` (FIFO order, but a referenced page gets a second
 * chance: its bits are cleared and it goes round again).
 */
export type ReplacementPolicy = "linux" | "fifo" | "lru" | "clock";
export const REPLACEMENT_POLICIES: readonly ReplacementPolicy[] = ["linux", "fifo", "lru", "clock"];

export function is_file_lru(list: number): boolean {
  return list === LRU_INACTIVE_FILE || list === LRU_ACTIVE_FILE;
}

export function is_active_lru(list: number): boolean {
  return list === LRU_ACTIVE_ANON || list === LRU_ACTIVE_FILE;
}

/** folio_is_file_lru(): not swap-backed (page cache), or lazily freed anonymous memory. */
export function folio_is_file_lru(flags: number): boolean {
  return !(flags & PG_swapbacked) || (flags & PG_lazyfree) !== 0;
}

/** folio_lru_list(): the list a page with these flags belongs on. */
export function folio_lru_list(flags: number): number {
  if (flags & PG_mlocked) return LRU_UNEVICTABLE;
  const base = folio_is_file_lru(flags) ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON;
  return flags & PG_active ? base + 1 : base;
}

export class Lruvec {
  /** Per pfn: the list the page is on, plus one (0: not on a list: free, or isolated by reclaim). */
  lru: Uint8Array;
  next: Int32Array;
  prev: Int32Array;
  /**
   * Per pfn: the PTEs of VM_LOCKED VMAs that map the page (folio->mlock_count; exact here, so a
   * page is mlocked exactly while a locked VMA maps it).
   */
  mlock_count: Int32Array;
  /** Pages on each list (NR_INACTIVE_ANON ... NR_UNEVICTABLE), whatever physical list holds them. */
  readonly nr_pages = [0, 0, 0, 0, 0];
  /** Pages with PG_mlocked (NR_MLOCK). */
  nr_mlock = 0;
  /** Pages that became mlocked / munlocked (vmstat unevictable_pgs_mlocked / _munlocked). */
  pgmlocked = 0;
  pgmunlocked = 0;
  /** Per physical list: its first (most recently added) and last page, 0 when empty. */
  readonly head = new Int32Array(NR_PHYS_LISTS);
  readonly tail = new Int32Array(NR_PHYS_LISTS);
  /** The replacement policy; evictable pages share LRU_CLASSIC unless it is "linux". */
  policy: ReplacementPolicy = "linux";
  private classic = false;
  /** Reclaim cost of each kind (lru_note_cost): anon from swap I/O and rotations, file likewise. */
  anon_cost = 0;
  file_cost = 0;
  /** Evictions and activations so far: the clock refault distances are measured on (workingset.c). */
  nonresident_age = 0;
  /** workingset_activate_anon/file when reclaim last ran (snapshot_refaults). */
  readonly refaults = [0, 0];

  constructor(
    private readonly frames: FrameTable,
    cap: number,
  ) {
    this.lru = new Uint8Array(cap);
    this.next = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.mlock_count = new Int32Array(cap);
  }

  grow(cap: number): void {
    const l = new Uint8Array(cap);
    l.set(this.lru);
    this.lru = l;
    const n = new Int32Array(cap);
    n.set(this.next);
    this.next = n;
    const p = new Int32Array(cap);
    p.set(this.prev);
    this.prev = p;
    const c = new Int32Array(cap);
    c.set(this.mlock_count);
    this.mlock_count = c;
  }

  private phys(list: number): number {
    return this.classic && list !== LRU_UNEVICTABLE ? LRU_CLASSIC : list;
  }

  /** The physical list that holds the pages of `list` (LRU_CLASSIC under a classic policy). */
  list_of(list: number): number {
    return this.phys(list);
  }

  /** lruvec_add_folio(): onto the head of the list its flags say. */
  add(pfn: number): void {
    const list = folio_lru_list(this.frames.flags[pfn]!);
    const p = this.phys(list);
    const h = this.head[p]!;
    this.next[pfn] = h;
    this.prev[pfn] = 0;
    if (h) this.prev[h] = pfn;
    else this.tail[p] = pfn;
    this.head[p] = pfn;
    this.lru[pfn] = list + 1;
    this.nr_pages[list]!++;
  }

  /** lruvec_add_folio_tail(): onto the tail (the next to be scanned). */
  add_tail(pfn: number): void {
    const list = folio_lru_list(this.frames.flags[pfn]!);
    const p = this.phys(list);
    const t = this.tail[p]!;
    this.prev[pfn] = t;
    this.next[pfn] = 0;
    if (t) this.next[t] = pfn;
    else this.head[p] = pfn;
    this.tail[p] = pfn;
    this.lru[pfn] = list + 1;
    this.nr_pages[list]!++;
  }

  /** lruvec_del_folio(): off its list (a page must be on one). */
  del(pfn: number): void {
    const list = this.lru[pfn]! - 1;
    const p = this.phys(list);
    const n = this.next[pfn]!;
    const pr = this.prev[pfn]!;
    if (pr) this.next[pr] = n;
    else this.head[p] = n;
    if (n) this.prev[n] = pr;
    else this.tail[p] = pr;
    this.lru[pfn] = 0;
    this.nr_pages[list]!--;
  }

  /** Its flags changed: onto the head of the list they now say (or left alone if isolated). */
  move(pfn: number): void {
    if (!this.lru[pfn]) return;
    this.del(pfn);
    this.add(pfn);
  }

  /**
   * folio_mark_accessed() (mm/swap.c): an access that no PTE records (read(2)). The first marks
   * the page referenced; the next moves an inactive page on an evictable list to the active list
   * (pgactivate, and a workingset activation, which ages the non-resident pages). Under clock it
   * sets the referenced bit (the second chance, which clock's hand clears); fifo and lru keep no
   * such bit (lru orders by access in filemap_get_page).
   */
  mark_accessed(pfn: number, events: VmEvents): void {
    const f = this.frames.flags;
    const pf = f[pfn]!;
    if (this.policy !== "linux") {
      if (this.policy === "clock") f[pfn] = pf | PG_referenced;
      return;
    }
    if (!(pf & PG_referenced)) f[pfn] = pf | PG_referenced;
    else if (!(pf & (PG_mlocked | PG_active)) && this.lru[pfn]) {
      f[pfn] = (pf | PG_active) & ~PG_referenced;
      this.move(pfn);
      events.pgactivate++;
      this.nonresident_age++;
    }
  }

  /** An access under the "lru" policy: the page becomes the most recently used. */
  touch(pfn: number): void {
    const l = this.lru[pfn]!;
    if (l && this.head[this.phys(l - 1)] !== pfn) {
      this.del(pfn);
      this.add(pfn);
    }
  }

  /**
   * mlock_folio(): a VM_LOCKED VMA maps the page once more. The first makes it PG_mlocked and
   * unevictable (losing PG_active, as __mlock_folio does).
   */
  mlock_folio(pfn: number): boolean {
    if (this.mlock_count[pfn]!++ > 0) return false;
    const f = this.frames.flags;
    f[pfn] = (f[pfn]! & ~PG_active) | PG_mlocked;
    this.nr_mlock++;
    this.pgmlocked++;
    this.move(pfn);
    return true;
  }

  /** munlock_folio(): one locked mapping fewer; the last puts the page back on an evictable list. */
  munlock_folio(pfn: number): boolean {
    if (--this.mlock_count[pfn]! > 0) return false;
    const f = this.frames.flags;
    f[pfn]! &= ~PG_mlocked;
    this.nr_mlock--;
    this.pgmunlocked++;
    this.move(pfn);
    return true;
  }

  /**
   * lru_note_cost(): reclaim's cost of one kind of page (I/O weighs SWAP_CLUSTER_MAX times a
   * rotation), decayed by half whenever the two costs together exceed a quarter of the LRU pages.
   */
  note_cost(file: boolean, nr_io: number, nr_rotated: number): void {
    const cost = nr_io * 32 + nr_rotated;
    if (file) this.file_cost += cost;
    else this.anon_cost += cost;
    if (this.file_cost + this.anon_cost > this.nr_evictable / 4) {
      this.file_cost = Math.floor(this.file_cost / 2);
      this.anon_cost = Math.floor(this.anon_cost / 2);
    }
  }

  /** Pages on the evictable lists. */
  get nr_evictable(): number {
    const n = this.nr_pages;
    return n[0]! + n[1]! + n[2]! + n[3]!;
  }

  /**
   * Change the replacement policy. Every evictable page keeps its list (its kind); the physical
   * order becomes the old lists one after the other (linux -> classic: inactive before active, so
   * the pages reclaim would take first stay first), or is split by kind (classic -> linux).
   */
  set_policy(policy: ReplacementPolicy): void {
    if (policy === this.policy) return;
    const order: number[] = [];
    // Oldest first: tail to head of each list, inactive lists before active ones.
    for (const p of [LRU_INACTIVE_FILE, LRU_INACTIVE_ANON, LRU_ACTIVE_FILE, LRU_ACTIVE_ANON, LRU_CLASSIC])
      for (let pfn = this.tail[p]!; pfn; pfn = this.prev[pfn]!) order.push(pfn);
    for (const pfn of order) this.del(pfn);
    this.policy = policy;
    this.classic = policy !== "linux";
    if (this.classic) for (const pfn of order) this.frames.flags[pfn]! &= ~PG_active;
    // Re-adding at the head, oldest first, keeps the oldest at the tail.
    for (const pfn of order) this.add(pfn);
  }

  /** The pages of physical list p from its tail (oldest) to its head, for validation and views. */
  pages(p: number): number[] {
    const out: number[] = [];
    for (let pfn = this.tail[p]!; pfn; pfn = this.prev[pfn]!) out.push(pfn);
    return out;
  }
}
