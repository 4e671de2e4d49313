/**
 * The bytes of page frames that hold any non-zero byte. A page's bytes live in a slot carved from
 * large buffers (64 KiB at first, up to 1 MiB each), so a page costs its bytes and one view, and a
 * freed slot is reused without a new allocation. Two slot sizes:
 *
 * - a small slot (512 bytes) holds a page whose written bytes all fall in one 512-byte window (a
 *   freshly exec'ed stack, a page touched by a single store): it records where in the page its
 *   window starts. A write outside the window moves the page to a full slot.
 * - a full slot (4096 bytes) remembers the extent [lo, hi) its writers touched; every byte outside
 *   it is zero. A recycled slot is cleared when handed out again (clear_page at fault time, as the
 *   kernel does, so that tearing down an address space costs nothing per byte), and only over that
 *   extent; a copy (copy-on-write) copies only the source's extent.
 *
 * Handles: 0 = all zeros (no storage), > 0 a full slot, < 0 a small slot. Reads and writes go
 * through read()/write(), which hide the representation; a page reads back exactly what was written.
 */
import { invariant } from "../abi/ulong.js";

export const PAGE = 4096;
/** Bytes of a small slot. */
export const SMALL = 512;
const FIRST_CHUNK = 64 * 1024;
const MAX_CHUNK = 1024 * 1024;

/** One size of slots: views carved from shared buffers, a free list, the written extent of each. */
class SlotPool {
  readonly views: Uint8Array[] = [new Uint8Array(0)];
  /** Per slot: the written extent [lo, hi) within the slot (lo >= hi: nothing written). */
  lo: Uint16Array;
  hi: Uint16Array;
  /** Slots never handed out are [fresh, views.length): still zero. */
  private fresh = 1;
  private readonly freed: number[] = [];
  private chunk = FIRST_CHUNK;
  used = 0;

  constructor(readonly size: number) {
    this.lo = new Uint16Array(16).fill(size);
    this.hi = new Uint16Array(16);
  }

  /**
   * A slot whose bytes are all zero, with an empty extent; except [keepLo, keepHi), which the
   * caller overwrites at once (a copy), so a recycled slot is not cleared there first.
   */
  alloc(keepLo = 0, keepHi = 0): number {
    this.used++;
    const s = this.freed.pop();
    if (s !== undefined) {
      const lo = this.lo[s]!;
      const hi = this.hi[s]!;
      if (lo < hi) {
        const v = this.views[s]!;
        if (keepLo >= keepHi || hi <= keepLo || lo >= keepHi) v.fill(0, lo, hi);
        else {
          if (lo < keepLo) v.fill(0, lo, keepLo);
          if (hi > keepHi) v.fill(0, keepHi, hi);
        }
      }
      this.lo[s] = this.size;
      this.hi[s] = 0;
      return s;
    }
    if (this.fresh === this.views.length) this.carve();
    return this.fresh++;
  }

  free(s: number): void {
    if (s <= 0 || s >= this.fresh) invariant(false, `freeing content slot ${s} never handed out`);
    this.used--;
    this.freed.push(s);
  }

  /** Bytes [off, end) of slot s are (about to be) written. */
  written(s: number, off: number, end: number): void {
    if (off < this.lo[s]!) this.lo[s] = off;
    if (end > this.hi[s]!) this.hi[s] = end;
  }

  get reserved_bytes(): number {
    return (this.views.length - 1) * this.size;
  }

  private carve(): void {
    const n = this.chunk / this.size;
    const buf = new ArrayBuffer(this.chunk);
    for (let i = 0; i < n; i++) this.views.push(new Uint8Array(buf, i * this.size, this.size));
    if (this.lo.length < this.views.length) {
      const cap = Math.max(this.views.length, this.lo.length * 2);
      const lo = new Uint16Array(cap);
      lo.set(this.lo);
      lo.fill(this.size, this.lo.length);
      this.lo = lo;
      const hi = new Uint16Array(cap);
      hi.set(this.hi);
      this.hi = hi;
    }
    this.chunk = Math.min(MAX_CHUNK, this.chunk * 2);
  }

  /** Every byte outside the slot's extent is zero. */
  checkExtent(s: number): boolean {
    const v = this.views[s]!;
    const lo = this.lo[s]!;
    const hi = this.hi[s]!;
    for (let i = 0; i < this.size; i++) if (v[i] !== 0 && (i < lo || i >= hi)) return false;
    return true;
  }
}

export class PageContents {
  private readonly full = new SlotPool(PAGE);
  private readonly small = new SlotPool(SMALL);
  /** Per small slot: the page offset of its first byte. */
  private base = new Uint16Array(16);

  /** Slots in use (both sizes). */
  get used(): number {
    return this.full.used + this.small.used;
  }

  /** Bytes of buffers carved so far (in use, free and never used). */
  get reserved_bytes(): number {
    return this.full.reserved_bytes + this.small.reserved_bytes;
  }

  /** Bytes [off, off + n) of the page behind handle c into dst at dstOff. */
  read(c: number, off: number, n: number, dst: Uint8Array, dstOff: number): void {
    if (c > 0) {
      const v = this.full.views[c]!;
      if (n > 64) dst.set(v.subarray(off, off + n), dstOff);
      else for (let i = 0; i < n; i++) dst[dstOff + i] = v[off + i]!;
      return;
    }
    if (c === 0) {
      dst.fill(0, dstOff, dstOff + n);
      return;
    }
    const v = this.small.views[-c]!;
    const b = this.base[-c]!;
    for (let i = 0; i < n; i++) {
      const p = off + i - b;
      dst[dstOff + i] = p >= 0 && p < SMALL ? v[p]! : 0;
    }
  }

  /**
   * Write n bytes at page offset off: bytes of the repeating pattern `data` starting at its index
   * `from`. Returns the page's handle afterwards (storage is taken on the first non-zero byte, and
   * a small slot moves to a full one when the write leaves its window).
   */
  write(c: number, off: number, n: number, data: Uint8Array, from: number): number {
    const dl = data.length;
    if (c === 0) {
      let any = false;
      for (let k = 0; k < n && k < dl && !any; k++) any = data[(from + k) % dl] !== 0;
      if (!any) return 0;
      if (n <= SMALL) {
        const s = this.small.alloc();
        if (s >= this.base.length) {
          const b = new Uint16Array(Math.max(s + 1, this.base.length * 2));
          b.set(this.base);
          this.base = b;
        }
        this.base[s] = Math.min(off, PAGE - SMALL);
        c = -s;
      } else c = this.full.alloc();
    } else if (c < 0) {
      const b = this.base[-c]!;
      if (off < b || off + n > b + SMALL) c = this.grow(c);
    }
    const pool = c > 0 ? this.full : this.small;
    const s = c > 0 ? c : -c;
    const at = c > 0 ? off : off - this.base[s]!;
    pool.written(s, at, at + n);
    const v = pool.views[s]!;
    const f = from % dl;
    if (f + n <= dl) {
      if (n > 64) v.set(f === 0 && n === dl ? data : data.subarray(f, f + n), at);
      else for (let k = 0; k < n; k++) v[at + k] = data[f + k]!;
    } else for (let k = 0; k < n; k++) v[at + k] = data[(from + k) % dl]!;
    return c;
  }

  /** Zero bytes [off, off + n) of the page behind handle c (no storage is taken). */
  zero(c: number, off: number, n: number): void {
    if (c > 0) this.full.views[c]!.fill(0, off, off + n);
    else if (c < 0) {
      const b = this.base[-c]!;
      const lo = Math.max(off, b);
      const hi = Math.min(off + n, b + SMALL);
      if (lo < hi) this.small.views[-c]!.fill(0, lo - b, hi - b);
    }
  }

  /** copy_page(): a new handle holding the bytes of c. */
  copyOf(c: number): number {
    if (c === 0) return 0;
    const pool = c > 0 ? this.full : this.small;
    const src = c > 0 ? c : -c;
    const lo = pool.lo[src]!;
    const hi = pool.hi[src]!;
    const d = pool.alloc(lo, hi);
    if (lo < hi) {
      const to = pool.views[d]!;
      const from = pool.views[src]!;
      // A whole slot copies without a subarray view (one object fewer per COW of a full page).
      if (lo === 0 && hi === pool.size) to.set(from);
      else if (hi - lo > 256) to.set(from.subarray(lo, hi), lo);
      else for (let i = lo; i < hi; i++) to[i] = from[i]!;
      pool.lo[d] = lo;
      pool.hi[d] = hi;
    }
    if (c > 0) return d;
    this.base[d] = this.base[src]!;
    return -d;
  }

  free(c: number): void {
    if (c > 0) this.full.free(c);
    else if (c < 0) this.small.free(-c);
  }

  /** A small page outgrew its window: the same bytes in a full slot. */
  private grow(c: number): number {
    const s = -c;
    const b = this.base[s]!;
    const lo = this.small.lo[s]!;
    const hi = this.small.hi[s]!;
    const f = this.full.alloc(b + lo, b + hi);
    if (lo < hi) {
      this.full.views[f]!.set(this.small.views[s]!.subarray(lo, hi), b + lo);
      this.full.written(f, b + lo, b + hi);
    }
    this.small.free(s);
    return f;
  }

  /** The representation holds together: bytes outside extents are zero, windows lie in the page. */
  check(c: number): boolean {
    if (c > 0) return this.full.checkExtent(c);
    if (c < 0) return this.base[-c]! + SMALL <= PAGE && this.small.checkExtent(-c);
    return true;
  }
}
