/**
 * The bytes of page frames that hold any non-zero byte, carved in 4 KiB slots from large
 * buffers (64 KiB at first, growing to 1 MiB per buffer) so that a page costs its 4096 bytes and
 * one view, and a freed slot is reused without a new allocation. Like the kernel, a recycled page
 * is cleared when it is handed out again (clear_page at fault time), not when it is freed, so that
 * tearing down an address space costs nothing per byte.
 */
import { invariant } from "../abi/ulong.js";

const PAGE = 4096;
const FIRST_CHUNK_PAGES = 16;
const MAX_CHUNK_PAGES = 256;

export class PageContents {
  /** The 4096-byte view of each slot; slot 0 is never handed out. */
  private readonly views: Uint8Array[] = [new Uint8Array(0)];
  /** Slots never handed out are [fresh, views.length): still zero. */
  private fresh = 1;
  /** Freed slots (their bytes are stale until handed out again). */
  private readonly freed: number[] = [];
  private chunkPages = FIRST_CHUNK_PAGES;
  /** Slots in use. */
  used = 0;

  /** A zero-filled slot. */
  alloc(): number {
    this.used++;
    const s = this.freed.pop();
    if (s !== undefined) {
      this.views[s]!.fill(0);
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

  /** The 4096 bytes of a slot. */
  page(slot: number): Uint8Array {
    return this.views[slot]!;
  }

  /** Bytes of buffers carved so far (in use, free and never used). */
  get reserved_bytes(): number {
    return (this.views.length - 1) * PAGE;
  }

  private carve(): void {
    const n = this.chunkPages;
    const buf = new ArrayBuffer(n * PAGE);
    for (let i = 0; i < n; i++) this.views.push(new Uint8Array(buf, i * PAGE, PAGE));
    this.chunkPages = Math.min(MAX_CHUNK_PAGES, n * 2);
  }
}
