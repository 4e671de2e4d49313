/**
 * Per-mm page tables in the x86_64 4-level shape. What is observable about them is the entries
 * (present, writable, dirty, young, special, swap and marker entries with their page frame) and
 * how many table pages exist at each level (VmPTE), so that is what is kept:
 *
 * - Entries are one int32 each, `pfn << 8 | PTE_* bits` (0 = pte_none), stored in blocks of 64
 *   carved from one typed array per mm. A block covers 256 KiB of address space and exists only
 *   while it holds an entry: a sparse address space costs a few hundred bytes, a dense one 4 bytes
 *   per page, and copying or zapping a range is a loop over flat memory.
 * - Which PTE tables (one per 2 MiB) exist is kept separately, because the kernel keeps a table
 *   after its entries are zapped (MADV_DONTNEED) until free_pgtables() frees it on unmap. The PMD
 *   and PUD tables above them are counted from the PTE tables when VmPTE is asked for.
 *
 * Invariant: a non-none entry never lies outside a VMA that allows it, and its block's table
 * exists (validate_mm checks both).
 */
import { InvariantError } from "../abi/ulong.js";

export const PTRS_PER_PTE = 512;
const PMD_PAGES = 512; // pages per PTE table (2 MiB)
const PUD_PAGES = 512 * 512; // pages per PMD table (1 GiB)
const PGD_PAGES = 512 * 512 * 512; // pages per PUD table (512 GiB)
/** Entries per storage block. */
export const PTE_BLOCK = 64;
const BLOCKS_PER_TABLE = PMD_PAGES / PTE_BLOCK;

/** PTE bits (the simulation's own encoding, the low 8 bits of an entry). */
export const PTE_PRESENT = 1 << 0;
export const PTE_WRITE = 1 << 1;
export const PTE_DIRTY = 1 << 2;
export const PTE_YOUNG = 1 << 3;
/** pte_special(): the zero page; not counted in RSS, not refcounted. */
export const PTE_SPECIAL = 1 << 4;
/** A swap entry: not present, the pfn field holds the swap slot. */
export const PTE_SWAP = 1 << 5;
/**
 * In a swap entry (the write bit's place, unused there): pte_swp_exclusive(), the page was
 * PageAnonExclusive when it was swapped out, so its swap-in may map it writable at once.
 */
export const PTE_SWP_EXCLUSIVE = 1 << 1;
/** A MADV_GUARD_INSTALL marker: not present, faults with SEGV_MAPERR. */
export const PTE_GUARD = 1 << 6;
/** A hwpoison entry (MADV_HWPOISON): not present, faults with SIGBUS BUS_MCEERR_AR. */
export const PTE_HWPOISON = 1 << 7;
/** Entries hold 24-bit pfns (64 GiB of touched memory per machine); FrameTable enforces it. */

/** pte_pfn(): the frame (or swap slot) of an entry. */
export function pte_pfn(pte: number): number {
  return pte >>> 8;
}

/** mk_pte(): an entry for pfn with PTE_* bits. */
export function mk_pte(pfn: number, bits: number): number {
  return (pfn << 8) | bits;
}

/** The machine's count of page-table pages (NR_PAGETABLE), which every mm's tables add to. */
export interface PgtableAcct {
  nr_pagetable: number;
}

export class PageTable {
  /**
   * Entry storage: block b holds the 64 entries of the 256 KiB at key bkey(b) * 64 pages, at
   * ent[b * 64 ...]. Reallocated as it grows: re-read it after anything that may allocate.
   */
  ent: Int32Array = EMPTY;
  /** Per block: [key (vpn / 64) or -1 when free, non-none entries]. */
  private meta: Int32Array = EMPTY;
  private nblk = 0;
  private freeBlk = -1;
  /** Block index by key (vpn / 64). */
  private readonly blocks = new Map<number, number>();
  /** PTE tables that exist, by 2 MiB index (vpn / 512), with the number of their blocks in use. */
  private readonly tables = new Map<number, number>();
  /** PMD tables (one per 1 GiB holding a PTE table) with their PTE tables, by 1 GiB index. */
  private readonly pmds = new Map<number, number>();
  /** PUD tables (one per 512 GiB holding a PMD table) with their PMD tables, by 512 GiB index. */
  private readonly puds = new Map<number, number>();
  /** Where table pages are counted machine-wide (mm_alloc sets it; none for a bare mm). */
  acct: PgtableAcct | null = null;

  /** nr_ptes: PTE table pages. */
  get nr_ptes(): number {
    return this.tables.size;
  }
  /** PMD tables: one per 1 GiB holding a PTE table. */
  get nr_pmds(): number {
    return this.pmds.size;
  }
  /** PUD tables: one per 512 GiB holding a PTE table. */
  get nr_puds(): number {
    return this.puds.size;
  }
  /** Table pages: every PTE, PMD and PUD table (the PGD is not counted). */
  get nr_pgtables(): number {
    return this.tables.size + this.pmds.size + this.puds.size;
  }
  /** mm_pgtables_bytes(): every PTE, PMD and PUD table page (the PGD is not counted). */
  get pgtables_bytes(): number {
    return this.nr_pgtables * 4096;
  }

  /** A PTE table for 2 MiB index t was allocated: the PMD and PUD above it exist too. */
  private tableCreated(t: number): void {
    let n = 1;
    const k = Math.floor(t / (PUD_PAGES / PMD_PAGES));
    const c = this.pmds.get(k);
    if (c === undefined) {
      this.pmds.set(k, 1);
      n++;
      const u = Math.floor(k / (PGD_PAGES / PUD_PAGES));
      const cu = this.puds.get(u);
      if (cu === undefined) {
        this.puds.set(u, 1);
        n++;
      } else this.puds.set(u, cu + 1);
    } else this.pmds.set(k, c + 1);
    if (this.acct) this.acct.nr_pagetable += n;
  }

  /** The PTE table for 2 MiB index t was freed, and with it an emptied PMD and PUD table. */
  private tableFreed(t: number): void {
    this.tables.delete(t);
    let n = 1;
    const k = Math.floor(t / (PUD_PAGES / PMD_PAGES));
    const c = this.pmds.get(k)! - 1;
    if (c === 0) {
      this.pmds.delete(k);
      n++;
      const u = Math.floor(k / (PGD_PAGES / PUD_PAGES));
      const cu = this.puds.get(u)! - 1;
      if (cu === 0) {
        this.puds.delete(u);
        n++;
      } else this.puds.set(u, cu);
    } else this.pmds.set(k, c);
    if (this.acct) this.acct.nr_pagetable -= n;
  }

  /** Does the PTE table covering vpn exist? */
  hasTable(vpn: number): boolean {
    return this.tables.has(Math.floor(vpn / PMD_PAGES));
  }

  /** The entry for vpn (0 when none). */
  get(vpn: number): number {
    const b = this.blocks.get(Math.floor(vpn / PTE_BLOCK));
    return b === undefined ? 0 : this.ent[b * PTE_BLOCK + (vpn % PTE_BLOCK)]!;
  }

  /** The storage index of vpn's entry, or -1 when its block does not exist (the entry is none). */
  slot(vpn: number): number {
    const b = this.blocks.get(Math.floor(vpn / PTE_BLOCK));
    return b === undefined ? -1 : b * PTE_BLOCK + (vpn % PTE_BLOCK);
  }

  /** pte_alloc(): the storage index of vpn's entry, allocating its table and block if needed. */
  slotAlloc(vpn: number): number {
    const key = Math.floor(vpn / PTE_BLOCK);
    let b = this.blocks.get(key);
    if (b === undefined) b = this.allocBlock(key);
    return b * PTE_BLOCK + (vpn % PTE_BLOCK);
  }

  /** pte_alloc() without an entry: the PTE table covering vpn exists afterwards. */
  tableAlloc(vpn: number): void {
    const t = Math.floor(vpn / PMD_PAGES);
    if (!this.tables.has(t)) {
      this.tables.set(t, 0);
      this.tableCreated(t);
    }
  }

  /**
   * Set the entry at a storage index (from slot/slotAlloc) to pte (0 clears it). A block left
   * with no entry is released; its table stays until free_pgtables().
   */
  set(slot: number, pte: number): void {
    const old = this.ent[slot]!;
    this.ent[slot] = pte;
    if (old === 0) {
      if (pte !== 0) this.meta[(slot >> 6) * 2 + 1]!++;
    } else if (pte === 0 && --this.meta[(slot >> 6) * 2 + 1]! === 0) this.releaseBlock(slot >> 6);
  }

  /** Set the entry for vpn (allocating as needed; clearing a missing entry does nothing). */
  setAt(vpn: number, pte: number): void {
    if (pte === 0) {
      const s = this.slot(vpn);
      if (s >= 0) this.set(s, 0);
      return;
    }
    this.set(this.slotAlloc(vpn), pte);
  }

  private allocBlock(key: number): number {
    let b = this.freeBlk;
    if (b >= 0) this.freeBlk = this.meta[b * 2 + 1]!;
    else {
      if (this.nblk * PTE_BLOCK >= this.ent.length) this.grow();
      b = this.nblk++;
    }
    this.meta[b * 2] = key;
    this.meta[b * 2 + 1] = 0;
    this.blocks.set(key, b);
    const t = Math.floor(key / BLOCKS_PER_TABLE);
    const inUse = this.tables.get(t);
    if (inUse === undefined) {
      this.tables.set(t, 1);
      this.tableCreated(t);
    } else this.tables.set(t, inUse + 1);
    return b;
  }

  private releaseBlock(b: number): void {
    const key = this.meta[b * 2]!;
    this.blocks.delete(key);
    const t = Math.floor(key / BLOCKS_PER_TABLE);
    this.tables.set(t, this.tables.get(t)! - 1);
    // A free block is all zeros; its count slot chains the free list.
    this.meta[b * 2] = -1;
    this.meta[b * 2 + 1] = this.freeBlk;
    this.freeBlk = b;
  }

  private grow(): void {
    const cap = Math.max(4, (this.ent.length / PTE_BLOCK) * 2);
    const e = new Int32Array(cap * PTE_BLOCK);
    e.set(this.ent);
    this.ent = e;
    const m = new Int32Array(cap * 2);
    m.set(this.meta);
    this.meta = m;
  }

  /**
   * free_pgtables() for an unmapped range: frees the PTE tables whose whole span lies inside
   * [floorVpn, ceilingVpn) (the hole between the surviving neighbours), as the kernel does.
   * Tables still holding entries are never freed (they belong to a surviving VMA).
   */
  freeRange(floorVpn: number, ceilingVpn: number): void {
    if (this.tables.size === 0) return;
    const k0 = Math.ceil(floorVpn / PMD_PAGES);
    const k1 = Math.floor(ceilingVpn / PMD_PAGES); // exclusive
    if (k1 - k0 <= this.tables.size) {
      for (let k = k0; k < k1; k++) if (this.tables.get(k) === 0) this.tableFreed(k);
      return;
    }
    const empty: number[] = [];
    for (const [k, n] of this.tables) if (k >= k0 && k < k1 && n === 0) empty.push(k);
    for (const k of empty) this.tableFreed(k);
  }

  /**
   * The blocks overlapping [startVpn, endVpn) in address order, as fn(block, firstVpn, from, to):
   * the block's entries from..to-1 (storage indices) are vpns firstVpn... Blocks fn releases or
   * allocates do not disturb the walk; fn must re-read `ent` if it may allocate.
   */
  forEachBlock(
    startVpn: number,
    endVpn: number,
    fn: (b: number, firstVpn: number, from: number, to: number) => void,
  ): void {
    if (endVpn <= startVpn || this.blocks.size === 0) return;
    const k0 = Math.floor(startVpn / PTE_BLOCK);
    const k1 = Math.floor((endVpn - 1) / PTE_BLOCK);
    if (k1 - k0 + 1 > this.blocks.size * 4) {
      // Few blocks over a huge range: visit the existing blocks instead of every key.
      const keys: number[] = [];
      for (const k of this.blocks.keys()) if (k >= k0 && k <= k1) keys.push(k);
      keys.sort((a, b) => a - b);
      for (const k of keys) {
        const b = this.blocks.get(k);
        if (b !== undefined) this.visitBlock(k, b, startVpn, endVpn, fn);
      }
      return;
    }
    for (let k = k0; k <= k1; k++) {
      const b = this.blocks.get(k);
      if (b !== undefined) this.visitBlock(k, b, startVpn, endVpn, fn);
    }
  }

  private visitBlock(
    k: number,
    b: number,
    startVpn: number,
    endVpn: number,
    fn: (b: number, firstVpn: number, from: number, to: number) => void,
  ): void {
    const base = k * PTE_BLOCK;
    const lo = Math.max(startVpn, base);
    const hi = Math.min(endVpn, base + PTE_BLOCK);
    fn(b, lo, b * PTE_BLOCK + (lo - base), b * PTE_BLOCK + (hi - base));
  }

  /**
   * The blocks overlapping [startVpn, endVpn) in address order, as flattened quadruples
   * [block, firstVpn, from, to] (storage indices from..to-1 hold vpns firstVpn...), for loops
   * that work on `ent` directly and then report with countNew/countCleared.
   */
  blockList(startVpn: number, endVpn: number): number[] {
    const out: number[] = [];
    this.forEachBlock(startVpn, endVpn, (b, firstVpn, from, to) => {
      out.push(b, firstVpn, from, to);
    });
    return out;
  }

  /** n entries of block b were written over pte_none directly in `ent`. */
  countNew(b: number, n: number): void {
    this.meta[b * 2 + 1]! += n;
  }

  /** n entries of block b were cleared directly in `ent`; an emptied block is released. */
  countCleared(b: number, n: number): void {
    const left = this.meta[b * 2 + 1]! - n;
    this.meta[b * 2 + 1] = left;
    if (left === 0) this.releaseBlock(b);
  }

  /**
   * Visit every non-none entry with vpn in [startVpn, endVpn), in address order, as fn(vpn, slot).
   * fn may change or clear the entry through set(); entries it installs elsewhere are not visited.
   */
  forEach(startVpn: number, endVpn: number, fn: (vpn: number, slot: number) => void): void {
    this.forEachBlock(startVpn, endVpn, (b, firstVpn, from, to) => {
      const key = this.meta[b * 2]!;
      for (let s = from; s < to; s++) {
        if (this.ent[s] === 0) continue;
        fn(firstVpn + (s - from), s);
        // fn emptied the block (and maybe reused it elsewhere): nothing is left to visit here.
        if (this.meta[b * 2] !== key) return;
      }
    });
  }

  /** Every non-none entry as [vpn, pte], in address order (for validation and tests). */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    const keys = [...this.blocks.keys()].sort((a, b) => a - b);
    for (const k of keys) {
      const b = this.blocks.get(k)!;
      for (let i = 0; i < PTE_BLOCK; i++) {
        const pte = this.ent[b * PTE_BLOCK + i]!;
        if (pte !== 0) out.push([k * PTE_BLOCK + i, pte]);
      }
    }
    return out;
  }

  /** Check the block bookkeeping against the entries (validate_mm calls this). */
  check(): void {
    const fail = (msg: string): never => {
      throw new InvariantError(`page table: ${msg}`);
    };
    let inUse = 0;
    const perTable = new Map<number, number>();
    for (const [key, b] of this.blocks) {
      if (this.meta[b * 2] !== key) fail(`block ${b} has key ${this.meta[b * 2]}, mapped as ${key}`);
      let n = 0;
      for (let i = 0; i < PTE_BLOCK; i++) if (this.ent[b * PTE_BLOCK + i] !== 0) n++;
      if (n === 0) fail(`block ${b} (key ${key}) is empty but in use`);
      if (n !== this.meta[b * 2 + 1]) fail(`block ${b} counts ${this.meta[b * 2 + 1]} entries, has ${n}`);
      const t = Math.floor(key / BLOCKS_PER_TABLE);
      perTable.set(t, (perTable.get(t) ?? 0) + 1);
      inUse++;
    }
    for (const [t, n] of this.tables)
      if ((perTable.get(t) ?? 0) !== n)
        fail(`PTE table ${t} counts ${n} blocks, has ${perTable.get(t) ?? 0}`);
    for (const t of perTable.keys())
      if (!this.tables.has(t)) fail(`entries in PTE table ${t}, which is freed`);
    const pmds = new Map<number, number>();
    for (const t of this.tables.keys()) {
      const k = Math.floor(t / (PUD_PAGES / PMD_PAGES));
      pmds.set(k, (pmds.get(k) ?? 0) + 1);
    }
    const puds = new Map<number, number>();
    for (const k of pmds.keys()) {
      const u = Math.floor(k / (PGD_PAGES / PUD_PAGES));
      puds.set(u, (puds.get(u) ?? 0) + 1);
    }
    const same = (a: Map<number, number>, b: Map<number, number>) =>
      a.size === b.size && [...a].every(([k, n]) => b.get(k) === n);
    if (!same(pmds, this.pmds)) fail("PMD table counts differ from the PTE tables");
    if (!same(puds, this.puds)) fail("PUD table counts differ from the PMD tables");
    let free = 0;
    for (let b = this.freeBlk; b >= 0; b = this.meta[b * 2 + 1]!) {
      if (this.meta[b * 2] !== -1) fail(`free block ${b} has a key`);
      for (let i = 0; i < PTE_BLOCK; i++)
        if (this.ent[b * PTE_BLOCK + i] !== 0) fail(`free block ${b} holds an entry`);
      if (++free > this.nblk) fail("free list loops");
    }
    if (inUse + free !== this.nblk) fail(`${inUse} blocks in use + ${free} free != ${this.nblk}`);
  }
}

const EMPTY = new Int32Array(0);
