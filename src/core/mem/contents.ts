/**
 * The bytes of page frames that hold any non-zero byte, carved in 4 KiB slots from large
 * buffers (64 KiB at first, growing to 1 MiB per buffer) so that a page costs its 4096 bytes and
 * one view, and a freed slot is reused without a new allocation.
 *
 * Each slot remembers the extent [lo, hi) its writers touched; every byte outside it is zero. A
 * recycled slot is cleared when it is handed out again (clear_page at fault time, as the kernel
 * does, so tearing down an address space costs nothing per byte), and only over that extent; a
 * copy (copy-on-write) copies only the source's extent. A page written all over costs what the
 * kernel's clear_page/copy_page cost; a page holding a few bytes costs a few bytes.
 */
import { invariant } from "../abi/ulong.js";

export const PAGE = 4096;
const FIRST_CHUNK_PAGES = 16;
const MAX_CHUNK_PAGES = 256;

export class PageContents {
  /** The 4096-byte view of each slot; slot 0 is never handed out. */
  private readonly views: Uint8Array[] = [new Uint8Array(0)];
  /** Per slot: the written extent [lo, hi) (lo >= hi: nothing written). */
  private lo = new Uint16Array(FIRST_CHUNK_PAGES + 1).fill(PAGE);
  private hi = new Uint16Array(FIRST_CHUNK_PAGES + 1);
  /** Slots never handed out are [fresh, views.length): still zero. */
  private fresh = 1;
  /** Freed slots (their extent is stale until handed out again). */
  private readonly freed: number[] = [];
  private chunkPages = FIRST_CHUNK_PAGES;
  /** Slots in use. */
  used = 0;

  /** A slot whose 4096 bytes are all zero. */
  alloc(): number {
    this.used++;
    const s = this.freed.pop();
    if (s !== undefined) {
      const lo = this.lo[s]!;
      const hi = this.hi[s]!;
      if (lo < hi) this.views[s]!.fill(0, lo, hi);
      this.lo[s] = PAGE;
      this.hi[s] = 0;
      return s;
    }
    if (this.fresh === this.views.length) this.carve();
    return this.fresh++;
  }

  free(slot: number): void {
    invariant(slot > 0 && slot < this.fresh, `freeing content slot ${slot} never handed out`);
    this.used--;
    this.freed.push(slot);
  }

  /** The 4096 bytes of a slot, for reading (or for writing [off, end) after written()). */
  page(slot: number): Uint8Array {
    return this.views[slot]!;
  }

  /** The caller writes (or wrote) bytes [off, end) of the slot: widen its extent. */
  written(slot: number, off: number, end: number): void {
    if (off < this.lo[slot]!) this.lo[slot] = off;
    if (end > this.hi[slot]!) this.hi[slot] = end;
  }

  /** copy_page(): a new slot holding the bytes of `src`. */
  copyOf(src: number): number {
    const d = this.alloc();
    const lo = this.lo[src]!;
    const hi = this.hi[src]!;
    if (lo < hi) {
      const to = this.views[d]!;
      const from = this.views[src]!;
      if (hi - lo > 256) to.set(from.subarray(lo, hi), lo);
      else for (let i = lo; i < hi; i++) to[i] = from[i]!;
      this.lo[d] = lo;
      this.hi[d] = hi;
    }
    return d;
  }

  /** Bytes of buffers carved so far (in use, free and never used). */
  get reserved_bytes(): number {
    return (this.views.length - 1) * PAGE;
  }

  private carve(): void {
    const n = this.chunkPages;
    const buf = new ArrayBuffer(n * PAGE);
    for (let i = 0; i < n; i++) this.views.push(new Uint8Array(buf, i * PAGE, PAGE));
    if (this.lo.length < this.views.length) {
      const cap = Math.max(this.views.length, this.lo.length * 2);
      const lo = new Uint16Array(cap);
      lo.set(this.lo);
      lo.fill(PAGE, this.lo.length);
      this.lo = lo;
      const hi = new Uint16Array(cap);
      hi.set(this.hi);
      this.hi = hi;
    }
    this.chunkPages = Math.min(MAX_CHUNK_PAGES, n * 2);
  }

  /** Check that every byte outside a slot's extent is zero (validate_machine). */
  checkExtent(slot: number): boolean {
    const v = this.views[slot]!;
    const lo = this.lo[slot]!;
    const hi = this.hi[slot]!;
    for (let i = 0; i < PAGE; i++) if (v[i] !== 0 && (i < lo || i >= hi)) return false;
    return true;
  }
}
