/**
 * The machine's one swap area and its swap cache (mm/swapfile.c, mm/swap_state.c).
 *
 * A slot holds one page. Its count (swap_map) is the number of swap entries, PTEs with PTE_SWAP,
 * that refer to it: try_to_unmap() adds one per PTE it replaces, fork duplicates them
 * (swap_duplicate), a swap-in or a zap drops one (swap_free). The swap cache maps a slot to the page
 * that holds its data in memory: every page on its way out (between add_to_swap and the end of
 * reclaim) and every page read back in while other entries still refer to the slot, or until it is
 * written (a read fault keeps the page there, so that reclaiming it again, clean, costs no I/O). A
 * slot is in use while it has a count or a page in the swap cache, and is free otherwise.
 *
 * The data: while a page holds the slot's bytes in the swap cache, they are the page's; when the
 * page leaves the swap cache for good, its content handle (contents.ts) moves to the slot, so
 * writing a page to swap and reading it back copies nothing. A zero-filled page has no handle and
 * is recorded without I/O (the zeromap: swpout_zero, swpin_zero).
 *
 * Slot 0 is the swap header and never used; slots are handed out lowest-unused first, then most
 * recently freed first, so runs are reproducible. Arrays grow with the highest slot used, so a
 * large idle swap area costs nothing.
 */
import { invariant } from "../abi/ulong.js";
import type { FrameTable } from "./frames.js";
import { PG_dirty, PG_swapcache } from "./page_flags.js";

export class SwapInfo {
  /** Swap entries referring to each slot. */
  swap_map = new Int32Array(16);
  /** The swap cache: the page holding each slot in memory, 0 when none. */
  cache = new Int32Array(16);
  /** Each slot's bytes while no page holds them (a PageContents handle; 0: zero-filled or unused). */
  data = new Int32Array(16);
  /** Each slot's workingset shadow (the eviction clock of the page swapped out), 0 when none. */
  shadow = new Float64Array(16);
  /** Slots in use (inuse_pages). */
  inuse_pages = 0;
  /** Slots never handed out are [fresh, max]. */
  private fresh = 1;
  private readonly freed: number[] = [];

  constructor(
    /** Slots of the area (SwapTotal in pages). */
    readonly max: number,
    private readonly frames: FrameTable,
  ) {}

  /** nr_swap_pages: free slots. */
  get nr_swap_pages(): number {
    return this.max - this.inuse_pages;
  }

  /** vm_swap_full(): more than half the area in use (swap cache pages then give up their slot). */
  vm_swap_full(): boolean {
    return this.nr_swap_pages * 2 < this.max;
  }

  /** The highest slot ever handed out plus one (for validation and views). */
  get slot_bound(): number {
    return this.fresh;
  }

  private grow(need: number): void {
    let cap = this.swap_map.length;
    while (cap <= need) cap *= 2;
    const sm = new Int32Array(cap);
    sm.set(this.swap_map);
    this.swap_map = sm;
    const c = new Int32Array(cap);
    c.set(this.cache);
    this.cache = c;
    const d = new Int32Array(cap);
    d.set(this.data);
    this.data = d;
    const s = new Float64Array(cap);
    s.set(this.shadow);
    this.shadow = s;
  }

  /** get_swap_pages(): a free slot, now in use with no entries yet; 0 when the area is full. */
  get_swap_page(): number {
    let slot = this.freed.pop();
    if (slot === undefined) {
      if (this.fresh > this.max) return 0;
      slot = this.fresh++;
      if (slot >= this.swap_map.length) this.grow(slot);
    }
    this.inuse_pages++;
    return slot;
  }

  /** Is the slot in use (entries, or a page in the swap cache)? */
  in_use(slot: number): boolean {
    return slot > 0 && slot < this.fresh && (this.swap_map[slot]! > 0 || this.cache[slot] !== 0);
  }

  /** swap_duplicate(): one more swap entry refers to the slot (fork, try_to_unmap). */
  swap_duplicate(slot: number): void {
    if (!this.in_use(slot)) invariant(false, `swap_duplicate of free slot ${slot}`);
    this.swap_map[slot]!++;
  }

  /** swap_free(): one swap entry fewer; a slot left with neither entries nor a cached page is freed. */
  swap_free(slot: number): void {
    const n = --this.swap_map[slot]!;
    if (n < 0) invariant(false, `swap_free of slot ${slot} without entries`);
    if (n === 0 && this.cache[slot] === 0) this.slot_free(slot);
  }

  /** swap_entry_range_free(): the slot's data and shadow go, the slot is free. */
  private slot_free(slot: number): void {
    const d = this.data[slot]!;
    if (d !== 0) {
      this.frames.contents.free(d);
      this.data[slot] = 0;
    }
    this.shadow[slot] = 0;
    this.inuse_pages--;
    this.freed.push(slot);
  }

  /**
   * add_to_swap_cache(): the page now holds the slot (PG_swapcache, its swap entry); the swap cache
   * takes a reference on it. The slot's bytes, if the area held them, become the page's.
   */
  add_to_swap_cache(pfn: number, slot: number): void {
    const f = this.frames;
    if (this.cache[slot] !== 0) invariant(false, `slot ${slot} is already in the swap cache`);
    if (f.flags[pfn]! & PG_swapcache) invariant(false, `frame ${pfn} is already in the swap cache`);
    f.flags[pfn]! |= PG_swapcache;
    f.swap_entry[pfn] = slot;
    f.get_page(pfn);
    this.cache[slot] = pfn;
    const d = this.data[slot]!;
    if (d !== 0) {
      if (f.content[pfn] !== 0) invariant(false, `swap-in into frame ${pfn}, which has contents`);
      f.content[pfn] = d;
      this.data[slot] = 0;
    }
  }

  /**
   * A write fault to the only entry of a slot whose page is not in memory: the new page gets the
   * slot's bytes and the slot is freed (the swap cache would take the page and let it go again in
   * the same fault, which is what this does at once). Returns the slot's shadow.
   */
  take_slot(slot: number, pfn: number): number {
    if (!(this.swap_map[slot] === 1 && this.cache[slot] === 0))
      invariant(false, `slot ${slot} is shared or cached`);
    const f = this.frames;
    const d = this.data[slot]!;
    if (d !== 0) {
      f.content[pfn] = d;
      this.data[slot] = 0;
    }
    const shadow = this.shadow[slot]!;
    this.swap_map[slot] = 0;
    this.slot_free(slot);
    return shadow;
  }

  /**
   * __delete_from_swap_cache(): the page lets go of its slot, keeping its bytes (they now exist in
   * memory only); the caller drops the swap cache's reference. The slot is freed when no entry
   * refers to it any more.
   */
  delete_from_swap_cache(pfn: number): number {
    const f = this.frames;
    const slot = f.swap_entry[pfn]!;
    if (!(this.cache[slot] === pfn))
      invariant(false, `frame ${pfn} is not the swap cache's page of slot ${slot}`);
    f.flags[pfn]! &= ~PG_swapcache;
    f.swap_entry[pfn] = 0;
    this.cache[slot] = 0;
    if (this.swap_map[slot] === 0) this.slot_free(slot);
    return slot;
  }

  /**
   * The end of swap-out (__remove_mapping for a swap cache page): the page's bytes move to the slot,
   * which keeps its entries, and the page leaves the swap cache; the caller drops the reference.
   */
  evict_to_slot(pfn: number, shadow: number): number {
    const f = this.frames;
    const slot = f.swap_entry[pfn]!;
    if (!(this.swap_map[slot]! > 0))
      invariant(false, `evicting frame ${pfn} to slot ${slot}, which no entry refers to`);
    this.data[slot] = f.content[pfn]!;
    f.content[pfn] = 0;
    this.shadow[slot] = shadow;
    this.delete_from_swap_cache(pfn);
    return slot;
  }

  /**
   * shmem_writeout()'s write: a new slot (from get_swap_page) receives the page's bytes and one
   * entry, the shmem object's; the page keeps no slot of its own (it is about to be freed).
   */
  store(slot: number, pfn: number, shadow: number): void {
    const f = this.frames;
    if (this.swap_map[slot] !== 0 || this.cache[slot] !== 0)
      invariant(false, `storing into slot ${slot} in use`);
    this.swap_map[slot] = 1;
    this.data[slot] = f.content[pfn]!;
    f.content[pfn] = 0;
    this.shadow[slot] = shadow;
  }

  /**
   * folio_free_swap(): a swap cache page gives up its slot when no swap entry refers to it any more
   * (the bytes stay in memory only, so the page becomes dirty). Returns whether it did; the swap
   * cache's reference is dropped.
   */
  folio_free_swap(pfn: number): boolean {
    const f = this.frames;
    if (!(f.flags[pfn]! & PG_swapcache)) return false;
    if (this.swap_map[f.swap_entry[pfn]!]! > 0) return false;
    this.delete_from_swap_cache(pfn);
    f.flags[pfn]! |= PG_dirty;
    f.put_page(pfn);
    return true;
  }

  /**
   * free_swap_and_cache(): a swap entry is gone (zap, MADV_FREE). When it was the slot's last and
   * the slot's page sits in the swap cache, the page gives the slot up if nobody maps it (it is
   * then freed) or swap is more than half full (__try_to_reclaim_swap, TTRS_UNMAPPED | TTRS_FULL).
   */
  free_swap_and_cache(slot: number): void {
    this.swap_free(slot);
    const pfn = this.cache[slot]!;
    if (pfn !== 0 && this.swap_map[slot] === 0 && (this.frames.mapcount[pfn] === 0 || this.vm_swap_full()))
      this.folio_free_swap(pfn);
  }
}
