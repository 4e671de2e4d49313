/**
 * Physical page frames of one machine (struct page, reduced to what the simulation needs), kept in
 * typed arrays indexed by pfn so that millions of pages cost a few bytes each.
 */
import { invariant } from "../abi/ulong.js";

/** Page flags (PG_*). */
export const PG_anon = 1 << 0;
export const PG_dirty = 1 << 1;
export const PG_referenced = 1 << 2;
export const PG_active = 1 << 3;
export const PG_mlocked = 1 << 4;
export const PG_swapbacked = 1 << 5;
export const PG_zero = 1 << 6; // the shared zero page
export const PG_lazyfree = 1 << 7; // MADV_FREE'd, clean: may be dropped instead of swapped
/** Part of a PMD-sized (2 MiB) anonymous huge page: AnonHugePages in smaps. */
export const PG_thp = 1 << 8;
/** PageAnonExclusive: only one mm maps this anonymous page (cleared when fork shares it). */
export const PG_anon_exclusive = 1 << 9;

/** What a frame belongs to: an anon_vma root id (anon) or an inode number (page cache). */
export type FrameOwner = { kind: "anon"; anon_vma: number } | { kind: "file"; ino: number };

export class FrameTable {
  private cap: number;
  _refcount: Int32Array;
  /** Number of PTEs mapping the frame (the kernel stores this minus one in _mapcount). */
  mapcount: Int32Array;
  flags: Uint16Array;
  /** Page index in the file, or the virtual page number for anonymous pages (for the reverse map). */
  index: Float64Array;
  /** Owner per frame (anon_vma id or inode): kept in a plain array, set once per allocation. */
  owner: (FrameOwner | null)[];
  /**
   * Page contents, only for frames that hold a non-zero byte: untouched and zero-filled pages cost
   * nothing. A missing entry reads as 4096 zero bytes.
   */
  data: (Uint8Array | undefined)[] = [];
  private free: Int32Array;
  private nfree = 0;
  private next = 1; // pfn 0 is never handed out
  /** Frames in use (allocated and not freed), the zero page excluded. */
  nr_used = 0;
  readonly zero_pfn: number;

  constructor(initial = 1024) {
    this.cap = initial;
    this._refcount = new Int32Array(initial);
    this.mapcount = new Int32Array(initial);
    this.flags = new Uint16Array(initial);
    this.index = new Float64Array(initial);
    this.owner = [];
    this.free = new Int32Array(initial);
    this.zero_pfn = this.next++;
    this.flags[this.zero_pfn] = PG_zero;
    this._refcount[this.zero_pfn] = 1;
  }

  private grow(): void {
    const cap = this.cap * 2;
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
    const fr = new Int32Array(cap);
    fr.set(this.free);
    this.free = fr;
    this.cap = cap;
  }

  /** alloc_page(): a frame with _refcount 1, not mapped. */
  alloc(owner: FrameOwner, index: number, flags: number): number {
    let pfn: number;
    if (this.nfree > 0) pfn = this.free[--this.nfree]!;
    else {
      if (this.next >= this.cap) this.grow();
      pfn = this.next++;
    }
    this._refcount[pfn] = 1;
    this.mapcount[pfn] = 0;
    this.flags[pfn] = flags;
    this.index[pfn] = index;
    this.owner[pfn] = owner;
    this.nr_used++;
    return pfn;
  }

  get_page(pfn: number): void {
    this._refcount[pfn]!++;
  }

  /** put_page(): drop a reference; the frame is freed when none remain. */
  put_page(pfn: number): void {
    if (pfn === this.zero_pfn) return;
    const r = --this._refcount[pfn]!;
    invariant(r >= 0, `put_page on free frame ${pfn}`);
    if (r === 0) {
      invariant(this.mapcount[pfn] === 0, `freeing mapped frame ${pfn}`);
      this.flags[pfn] = 0;
      this.owner[pfn] = null;
      this.data[pfn] = undefined;
      if (this.nfree >= this.free.length) this.grow();
      this.free[this.nfree++] = pfn;
      this.nr_used--;
    }
  }

  /** copy_user_highpage(): dst gets src's contents. */
  copy(dst: number, src: number): void {
    const d = this.data[src];
    this.data[dst] = d ? d.slice() : undefined;
  }

  /** Writable contents of a frame (allocated on first write). */
  bytes(pfn: number): Uint8Array {
    let d = this.data[pfn];
    if (!d) {
      d = new Uint8Array(4096);
      this.data[pfn] = d;
    }
    return d;
  }

  isAnon(pfn: number): boolean {
    return (this.flags[pfn]! & PG_anon) !== 0;
  }

  /** Allocated frames, for validation. */
  *allocated(): IterableIterator<number> {
    const freeSet = new Set<number>();
    for (let i = 0; i < this.nfree; i++) freeSet.add(this.free[i]!);
    for (let pfn = 1; pfn < this.next; pfn++) if (pfn !== this.zero_pfn && !freeSet.has(pfn)) yield pfn;
  }
}
