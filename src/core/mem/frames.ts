/**
 * Physical page frames of one machine (struct page, reduced to what the simulation needs), kept in
 * typed arrays indexed by pfn so that millions of pages cost a few bytes each, and the bytes of
 * the pages that hold any (PageContents).
 */
import { invariant } from "../abi/ulong.js";
import { PAGE, PageContents } from "./contents.js";
import { Lruvec } from "./lru.js";
import { PG_anon, PG_zero } from "./page_flags.js";

export {
  PG_active,
  PG_anon,
  PG_anon_exclusive,
  PG_dirty,
  PG_lazyfree,
  PG_mlocked,
  PG_referenced,
  PG_swapbacked,
  PG_swapcache,
  PG_thp,
  PG_workingset,
  PG_zero,
} from "./page_flags.js";

/** The largest pfn a page-table entry can hold (see page_table.ts). */
const PFN_MAX = 2 ** 24 - 1;

export class FrameTable {
  private cap: number;
  _refcount: Int32Array;
  /** Number of PTEs mapping the frame (the kernel stores this minus one in _mapcount). */
  mapcount: Int32Array;
  flags: Uint16Array;
  /** Page index in the file, or the virtual page number for anonymous pages (for the reverse map). */
  index: Float64Array;
  /**
   * page->mapping: the anon_vma root id for anonymous frames (PG_anon), else the inode number of
   * the page cache holding the frame.
   */
  mapping: Int32Array;
  /** Where the frame's bytes are (a PageContents slot), 0 while it holds only zeros. */
  content: Int32Array;
  /** folio->swap: the swap slot of a page in the swap cache (PG_swapcache), else 0. */
  swap_entry: Int32Array;
  /** The bytes of frames that hold any: untouched and zero-filled pages cost nothing. */
  readonly contents = new PageContents();
  /** The LRU lists every page in use is on (a freed page leaves its list). */
  readonly lruvec: Lruvec;
  private free: Int32Array;
  private nfree = 0;
  private next = 1; // pfn 0 is never handed out
  /** Frames in use (allocated and not freed), the zero page excluded. */
  nr_used = 0;
  readonly zero_pfn: number;

  constructor(initial = 64) {
    this.cap = initial;
    this._refcount = new Int32Array(initial);
    this.mapcount = new Int32Array(initial);
    this.flags = new Uint16Array(initial);
    this.index = new Float64Array(initial);
    this.mapping = new Int32Array(initial);
    this.content = new Int32Array(initial);
    this.swap_entry = new Int32Array(initial);
    this.free = new Int32Array(initial);
    this.lruvec = new Lruvec(this, initial);
    this.zero_pfn = this.next++;
    this.flags[this.zero_pfn] = PG_zero;
    this._refcount[this.zero_pfn] = 1;
  }

  private grow(): void {
    const cap = this.cap * 2;
    invariant(cap <= 2 * (PFN_MAX + 1), "out of page frames");
    const r = new Int32Array(cap);
    r.set(this._refcount);
    this._refcount = r;
    const m = new Int32Array(cap);
    m.set(this.mapcount);
    this.mapcount = m;
    const f = new Uint16Array(cap);
    f.set(this.flags);
    this.flags = f;
    const ix = new Float64Array(cap);
    ix.set(this.index);
    this.index = ix;
    const mp = new Int32Array(cap);
    mp.set(this.mapping);
    this.mapping = mp;
    const c = new Int32Array(cap);
    c.set(this.content);
    this.content = c;
    const pv = new Int32Array(cap);
    pv.set(this.swap_entry);
    this.swap_entry = pv;
    const fr = new Int32Array(cap);
    fr.set(this.free);
    this.free = fr;
    this.lruvec.grow(cap);
    this.cap = cap;
  }

  /** alloc_page(): a zero-filled frame with _refcount 1, not mapped, on no LRU list yet. */
  alloc(mapping: number, index: number, flags: number): number {
    let pfn: number;
    if (this.nfree > 0) pfn = this.free[--this.nfree]!;
    else {
      if (this.next >= this.cap) this.grow();
      pfn = this.next++;
      invariant(pfn <= PFN_MAX, "out of page frames");
    }
    this._refcount[pfn] = 1;
    this.mapcount[pfn] = 0;
    this.flags[pfn] = flags;
    this.index[pfn] = index;
    this.mapping[pfn] = mapping;
    this.nr_used++;
    return pfn;
  }

  get_page(pfn: number): void {
    this._refcount[pfn]!++;
  }

  /** put_page(): drop a reference; the frame (and its bytes) are freed when none remain. */
  put_page(pfn: number): void {
    if (pfn === this.zero_pfn) return;
    const r = --this._refcount[pfn]!;
    if (r === 0) this.free_frame(pfn);
    else if (r < 0) invariant(false, `put_page on free frame ${pfn}`);
  }

  private free_frame(pfn: number): void {
    if (this.mapcount[pfn] !== 0) invariant(false, `freeing mapped frame ${pfn}`);
    if (this.lruvec.mlock_count[pfn] !== 0) invariant(false, `freeing mlocked frame ${pfn}`);
    // __folio_put(): the page leaves its LRU list.
    if (this.lruvec.lru[pfn]) this.lruvec.del(pfn);
    this.flags[pfn] = 0;
    this.mapping[pfn] = 0;
    this.swap_entry[pfn] = 0;
    const c = this.content[pfn]!;
    if (c !== 0) {
      this.contents.free(c);
      this.content[pfn] = 0;
    }
    this.free[this.nfree++] = pfn;
    this.nr_used--;
  }

  /** Bytes [off, off + n) of the frame into dst at dstOff. */
  read(pfn: number, off: number, n: number, dst: Uint8Array, dstOff: number): void {
    this.contents.read(this.content[pfn]!, off, n, dst, dstOff);
  }

  /**
   * Store n bytes at page offset off: the repeating pattern `data` from its index `from` (a page
   * that only ever receives zeros takes no storage).
   */
  write(pfn: number, off: number, n: number, data: Uint8Array, from = 0): void {
    const c = this.content[pfn]!;
    const nc = this.contents.write(c, off, n, data, from);
    if (nc !== c) {
      invariant(pfn !== this.zero_pfn, "write to the zero page");
      this.content[pfn] = nc;
    }
  }

  /** Zero bytes [off, off + n) of the frame. */
  zero(pfn: number, off: number, n: number): void {
    this.contents.zero(this.content[pfn]!, off, n);
  }

  /** Set the frame's bytes to `bytes` (fewer than 4096: the rest reads zero). */
  fill(pfn: number, bytes: Uint8Array | undefined): void {
    this.zero(pfn, 0, PAGE);
    if (bytes?.length) this.write(pfn, 0, bytes.length, bytes, 0);
  }

  /** copy_user_highpage(): dst (a new frame) gets src's contents. */
  copy(dst: number, src: number): void {
    if (this.content[dst] !== 0) invariant(false, `copy into frame ${dst}, which has contents`);
    this.content[dst] = this.contents.copyOf(this.content[src]!);
  }

  /** A copy of the frame's 4096 bytes (views and tests). */
  bytes(pfn: number): Uint8Array {
    const out = new Uint8Array(PAGE);
    this.read(pfn, 0, PAGE, out, 0);
    return out;
  }

  isAnon(pfn: number): boolean {
    return (this.flags[pfn]! & PG_anon) !== 0;
  }

  /** Frames ever handed out (pfns below this bound), for validation. */
  get pfn_bound(): number {
    return this.next;
  }

  /** Is pfn free (on the free list, or never handed out)? For validation. */
  isFree(pfn: number): boolean {
    if (pfn >= this.next || pfn <= 0) return true;
    return pfn !== this.zero_pfn && this._refcount[pfn] === 0;
  }
}
