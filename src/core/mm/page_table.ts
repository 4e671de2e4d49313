/**
 * Per-mm page tables in the x86_64 4-level shape. Leaves (PTE tables, one per 2 MiB) are typed
 * arrays; the upper levels are only counted, since their sole observable effect is VmPTE.
 * A present PTE never lies outside a VMA that allows it (validate_mm checks this).
 */
export const PTRS_PER_PTE = 512;
const PMD_PAGES = 512; // pages per PTE table
const PUD_PAGES = 512 * 512; // pages per PMD table (1 GiB)
const PGD_PAGES = 512 * 512 * 512; // pages per PUD table (512 GiB)

/** PTE bits (the simulation's own encoding). */
export const PTE_PRESENT = 1 << 0;
export const PTE_WRITE = 1 << 1;
export const PTE_DIRTY = 1 << 2;
export const PTE_YOUNG = 1 << 3;
/** pte_special(): the zero page; not counted in RSS, not refcounted. */
export const PTE_SPECIAL = 1 << 4;
/** A swap entry: not present, `pfn` holds the swap slot. */
export const PTE_SWAP = 1 << 5;
/** A MADV_GUARD_INSTALL marker: not present, faults with SEGV_MAPERR. */
export const PTE_GUARD = 1 << 6;
/** A hwpoison entry (MADV_HWPOISON): not present, faults with SIGBUS BUS_MCEERR_AR. */
export const PTE_HWPOISON = 1 << 7;

export class PteTable {
  readonly pfn = new Int32Array(PTRS_PER_PTE);
  readonly bits = new Uint8Array(PTRS_PER_PTE);
  /** Entries that are not none (present, swap or marker). */
  used = 0;
}

export class PageTable {
  /** PTE tables by 2 MiB region index (vpn / 512). */
  readonly ptes = new Map<number, PteTable>();
  /** PMD tables (1 GiB regions) and PUD tables (512 GiB regions) allocated. */
  private readonly pmds = new Map<number, number>();
  private readonly puds = new Map<number, number>();

  /** nr_ptes: PTE table pages. */
  get nr_ptes(): number {
    return this.ptes.size;
  }
  get nr_pmds(): number {
    return this.pmds.size;
  }
  get nr_puds(): number {
    return this.puds.size;
  }
  /** mm_pgtables_bytes(): every PTE, PMD and PUD table page (the PGD is not counted). */
  get pgtables_bytes(): number {
    return (this.ptes.size + this.pmds.size + this.puds.size) * 4096;
  }

  /** The PTE table covering vpn, or undefined. */
  table(vpn: number): PteTable | undefined {
    return this.ptes.get(Math.floor(vpn / PMD_PAGES));
  }

  /** pte_alloc(): the PTE table covering vpn, allocating it (and its upper levels) if needed. */
  tableAlloc(vpn: number): PteTable {
    const key = Math.floor(vpn / PMD_PAGES);
    let t = this.ptes.get(key);
    if (!t) {
      t = new PteTable();
      this.ptes.set(key, t);
      const pmdKey = Math.floor(vpn / PUD_PAGES);
      const pudKey = Math.floor(vpn / PGD_PAGES);
      this.pmds.set(pmdKey, (this.pmds.get(pmdKey) ?? 0) + 1);
      this.puds.set(pudKey, (this.puds.get(pudKey) ?? 0) + 1);
    }
    return t;
  }

  /**
   * free_pgtables() for an unmapped range: frees the tables whose whole span lies inside
   * [floor, ceiling) (the hole between the surviving neighbours), as the kernel does.
   * Tables still holding entries are never freed (they belong to a surviving VMA).
   */
  freeRange(floorVpn: number, ceilingVpn: number): void {
    if (this.ptes.size === 0) return;
    const k0 = Math.ceil(floorVpn / PMD_PAGES);
    const k1 = Math.floor(ceilingVpn / PMD_PAGES); // exclusive
    if (k1 - k0 <= this.ptes.size) {
      for (let k = k0; k < k1; k++) {
        const t = this.ptes.get(k);
        if (t && t.used === 0) this.dropPte(k);
      }
      return;
    }
    for (const [key, t] of this.ptes) if (key >= k0 && key < k1 && t.used === 0) this.dropPte(key);
  }

  private dropPte(key: number): void {
    this.ptes.delete(key);
    const vpn = key * PMD_PAGES;
    const pmdKey = Math.floor(vpn / PUD_PAGES);
    const pudKey = Math.floor(vpn / PGD_PAGES);
    const pm = this.pmds.get(pmdKey)! - 1;
    if (pm === 0) this.pmds.delete(pmdKey);
    else this.pmds.set(pmdKey, pm);
    const pu = this.puds.get(pudKey)! - 1;
    if (pu === 0) this.puds.delete(pudKey);
    else this.puds.set(pudKey, pu);
  }

  /** Visit every non-none entry with vpn in [startVpn, endVpn), in address order. */
  forEach(startVpn: number, endVpn: number, fn: (vpn: number, t: PteTable, i: number) => void): void {
    // No tables at all (memory never touched): nothing to visit, and the sparse walk below
    // would still build and sort key arrays for every call (every munmap and mprotect).
    if (endVpn <= startVpn || this.ptes.size === 0) return;
    const k0 = Math.floor(startVpn / PMD_PAGES);
    const k1 = Math.floor((endVpn - 1) / PMD_PAGES);
    if (k1 - k0 + 1 > this.ptes.size * 4) {
      // Sparse tables over a huge range: walk the existing tables instead of every slot.
      const keys = [...this.ptes.keys()].filter((k) => k >= k0 && k <= k1).sort((a, b) => a - b);
      for (const k of keys) this.visit(k, startVpn, endVpn, fn);
      return;
    }
    for (let k = k0; k <= k1; k++) this.visit(k, startVpn, endVpn, fn);
  }

  private visit(
    k: number,
    startVpn: number,
    endVpn: number,
    fn: (vpn: number, t: PteTable, i: number) => void,
  ) {
    const t = this.ptes.get(k);
    if (!t || t.used === 0) return;
    const base = k * PMD_PAGES;
    const i0 = Math.max(0, startVpn - base);
    const i1 = Math.min(PMD_PAGES, endVpn - base);
    for (let i = i0; i < i1; i++) if (t.bits[i] !== 0) fn(base + i, t, i);
  }
}
