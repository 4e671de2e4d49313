/**
 * The reverse map (mm/rmap.c): from a page to the PTEs that map it. A file page is found through
 * its inode's i_mmap (every VMA mapping the file) at its index; an anonymous page through its
 * anon_vma: every VMA whose anon_vma has the page's root (the VMA it was faulted in, and the fork
 * children's copies), at its linear index. Each candidate's PTE is checked to map the page itself.
 *
 * Reclaim uses it to read and clear the accessed bits (folio_referenced) and to replace every
 * mapping of a page by a swap entry, or remove it (try_to_unmap).
 *
 * The anonymous side needs the VMAs by anon_vma root, which the VMAs do not keep (their anon_vma
 * chains point the other way): an RmapIndex builds that table from the live address spaces when a
 * walk first needs it, and serves one reclaim pass (VMAs do not change during one).
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Inode } from "../fs/file.js";
import type { Machine } from "../machine.js";
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_lazyfree } from "../mem/frames.js";
import {
  mk_pte,
  PTE_DIRTY,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_YOUNG,
} from "./page_table.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS, type vm_area_struct } from "./types.js";
import { VM_LOCKED, VM_RAND_READ, VM_SEQ_READ } from "./vm_flags.js";

export class RmapIndex {
  private anon: Map<number, vm_area_struct[]> | null = null;

  constructor(private readonly m: Machine) {}

  /** The VMAs whose anonymous pages hang off anon_vma root `root`. */
  anon_vmas(root: number): readonly vm_area_struct[] {
    if (!this.anon) {
      this.anon = new Map();
      for (const mm of this.m.mms)
        for (const v of mm.mm_mt) {
          if (!v.anon_vma) continue;
          const id = v.anon_vma.root.id;
          const l = this.anon.get(id);
          if (l) l.push(v);
          else this.anon.set(id, [v]);
        }
    }
    return this.anon.get(root) ?? NONE;
  }

  /** The inode whose page cache holds page-cache frames with this mapping, if any. */
  inode(ino: number): Inode | undefined {
    return this.m.fs.cached.get(ino);
  }
}

const NONE: readonly vm_area_struct[] = Object.freeze([]);

/**
 * rmap_walk() as a cursor (page_vma_mapped_walk): after start(), each next() that returns true
 * leaves in vma/vpn/slot a PTE that maps the page (slot: its storage index in the VMA's page
 * table). A cursor serves one page at a time; the caller may change the PTE found.
 */
export class RmapWalk {
  vma: vm_area_struct | null = null;
  vpn = 0;
  slot = 0;
  private list: readonly vm_area_struct[] = NONE;
  private iter: Iterator<vm_area_struct> | null = null;
  private i = 0;
  private left = 0;
  private pfn = 0;
  private index = 0;

  constructor(
    private readonly m: Machine,
    private readonly idx: RmapIndex,
  ) {}

  start(pfn: number): void {
    const f = this.m.frames;
    this.pfn = pfn;
    this.index = f.index[pfn]!;
    this.left = f.mapcount[pfn]!;
    this.i = 0;
    this.iter = null;
    this.list = NONE;
    if (this.left === 0) return;
    if (f.flags[pfn]! & PG_anon) this.list = this.idx.anon_vmas(f.mapping[pfn]!);
    else {
      const inode = this.idx.inode(f.mapping[pfn]!);
      if (inode) this.iter = (inode.i_mmap as Set<vm_area_struct>).values();
      else this.left = 0;
    }
  }

  next(): boolean {
    // Every mapping found: the rest of the candidates cannot map it.
    while (this.left > 0) {
      let vma: vm_area_struct;
      if (this.iter) {
        const r = this.iter.next();
        if (r.done) return false;
        vma = r.value;
      } else {
        if (this.i >= this.list.length) return false;
        vma = this.list[this.i++]!;
      }
      const index = this.index;
      if (index < vma.vm_pgoff || index >= vma.vm_pgoff + vma.nr_pages) continue;
      const pgd = vma.vm_mm.pgd;
      const vpn = vma.vm_start / PAGE_SIZE + (index - vma.vm_pgoff);
      const slot = pgd.slot(vpn);
      if (slot < 0) continue;
      const pte = pgd.ent[slot]!;
      if (!(pte & PTE_PRESENT) || pte & PTE_SPECIAL || pte >>> 8 !== this.pfn) continue;
      this.left--;
      this.vma = vma;
      this.vpn = vpn;
      this.slot = slot;
      return true;
    }
    return false;
  }
}

/** vma_has_recency(): references through MADV_SEQUENTIAL / MADV_RANDOM mappings do not count. */
function vma_has_recency(vma: vm_area_struct): boolean {
  return !(vma.vm_flags & (VM_SEQ_READ | VM_RAND_READ));
}

/** What folio_referenced() found besides the count: the flags of the VMAs that referenced the page. */
export interface Referenced {
  vm_flags: number;
}

/**
 * folio_referenced(): how many PTEs mapping the page had the accessed bit, clearing them (the
 * second chance is used up). `out.vm_flags` gets the flags of the referencing VMAs (VM_EXEC
 * matters), and VM_LOCKED when a locked VMA maps the page.
 */
export function folio_referenced(w: RmapWalk, pfn: number, out: Referenced): number {
  let referenced = 0;
  out.vm_flags = 0;
  w.start(pfn);
  while (w.next()) {
    const vma = w.vma!;
    if (vma.vm_flags & VM_LOCKED) {
      out.vm_flags |= VM_LOCKED;
      break;
    }
    const ent = vma.vm_mm.pgd.ent;
    const pte = ent[w.slot]!;
    if (pte & PTE_YOUNG) {
      ent[w.slot] = pte & ~PTE_YOUNG;
      if (vma_has_recency(vma)) {
        referenced++;
        out.vm_flags |= vma.vm_flags;
      }
    }
  }
  return referenced;
}

/** Where try_to_unmap() found a page mapped: the first mapping's task, mm and address, and how many. */
export interface Unmapped {
  pid: number;
  mm: number;
  addr: number;
  nr: number;
}

/**
 * try_to_unmap(): remove every PTE that maps the page. An anonymous page in the swap cache leaves a
 * swap entry for its slot in each (exclusive if the page was), a lazily freed one leaves none
 * unless it was written since MADV_FREE (then it is swap-backed again and the unmap stops), a file
 * page leaves none. A dirty PTE makes the page dirty. Returns whether the page is unmapped now.
 */
export function try_to_unmap(m: Machine, w: RmapWalk, pfn: number, out?: Unmapped): boolean {
  const f = m.frames;
  const pf = f.flags[pfn]!;
  const anon = (pf & PG_anon) !== 0;
  const swp = anon && !(pf & PG_lazyfree) ? mk_pte(f.swap_entry[pfn]!, PTE_SWAP) : 0;
  let ok = true;
  w.start(pfn);
  while (w.next()) {
    const vma = w.vma!;
    const slot = w.slot;
    if (vma.vm_flags & VM_LOCKED) {
      ok = false;
      break;
    }
    const mm = vma.vm_mm;
    const pte = mm.pgd.ent[slot]!;
    // update_hiwater_rss() before the RSS goes down.
    mm.update_hiwater_rss();
    if (pte & PTE_DIRTY) f.flags[pfn]! |= PG_dirty;
    if (anon) {
      if (swp === 0) {
        // A lazily freed page written again (or never cleaned) is swap-backed memory again.
        if (f.flags[pfn]! & PG_dirty) {
          f.flags[pfn]! &= ~PG_lazyfree;
          ok = false;
          break;
        }
        mm.pgd.set(slot, 0);
      } else {
        m.swap.swap_duplicate(f.swap_entry[pfn]!);
        mm.pgd.set(slot, f.flags[pfn]! & PG_anon_exclusive ? swp | PTE_SWP_EXCLUSIVE : swp);
        mm.rss_stat[MM_SWAPENTS]!++;
      }
      mm.rss_stat[MM_ANONPAGES]!--;
    } else {
      mm.pgd.set(slot, 0);
      mm.rss_stat[vma.vm_file?.inode.mmapKind === "shmem" ? MM_SHMEMPAGES : MM_FILEPAGES]!--;
    }
    f.mapcount[pfn]!--;
    f.put_page(pfn);
    if (out && out.nr++ === 0) {
      out.pid = mm.owner ?? 0;
      out.mm = mm.id;
      out.addr = w.vpn * PAGE_SIZE;
    }
  }
  if (f.mapcount[pfn] === 0) f.flags[pfn]! &= ~PG_anon_exclusive;
  return ok && f.mapcount[pfn] === 0;
}
