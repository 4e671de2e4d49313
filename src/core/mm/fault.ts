/**
 * handle_mm_fault() for one page of a VMA (mm/memory.c): anonymous demand-zero and zero page,
 * copy-on-write and reuse, page-cache read faults with fault-around and read-around, shared file
 * and shmem faults, SIGBUS beyond EOF. The caller (GUP, or a user access) has found the VMA and
 * checked permissions; this decides what gets mapped and counts it.
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Inode } from "../fs/file.js";
import type { Machine } from "../machine.js";
import {
  PG_anon,
  PG_anon_exclusive,
  PG_dirty,
  PG_mlocked,
  PG_swapbacked,
  PG_swapcache,
} from "../mem/frames.js";
import { alloc_page, nr_free_pages } from "../mem/page_alloc.js";
import { add_to_page_cache } from "../mem/page_cache.js";
import { __alloc_pages_slowpath, RESERVE_OK } from "../mem/vmscan.js";
import { workingset_refault } from "../mem/workingset.js";
import {
  mk_pte,
  PTE_DIRTY,
  PTE_GUARD,
  PTE_HWPOISON,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  PTE_YOUNG,
  PTRS_PER_PTE,
  pte_pfn,
} from "./page_table.js";
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  type mm_struct,
  type vm_area_struct,
} from "./types.js";
import {
  VM_ACCESS_FLAGS,
  VM_IGNORE_MERGE,
  VM_LOCKED,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_WRITE,
} from "./vm_flags.js";

export { add_to_page_cache };

export const VM_FAULT_OK = 0;
export const VM_FAULT_MAJOR = 1;
export const VM_FAULT_SIGBUS = 2;
export const VM_FAULT_SIGSEGV = 4;
export const VM_FAULT_OOM = 8;
export const VM_FAULT_HWPOISON = 16;

/** What a fault did, for counters and events. */
export type FaultKind = "anon" | "zero" | "cow" | "reuse" | "file" | "shared" | "shmem" | "swapin" | "none";

export interface FaultResult {
  /** VM_FAULT_* bits. */
  code: number;
  kind: FaultKind;
  /** Pages newly mapped (fault-around maps several). */
  mapped: number;
}

/** Fill in a fault's outcome (the caller may reuse one object for many faults). */
function done(out: FaultResult, code: number, kind: FaultKind, mapped: number): FaultResult {
  out.code = code;
  out.kind = kind;
  out.mapped = mapped;
  return out;
}

/** linear_page_index(): the file (or anonymous) page index of addr in vma. */
export function linear_page_index(vma: vm_area_struct, addr: number): number {
  return vma.vm_pgoff + (addr - vma.vm_start) / PAGE_SIZE;
}

/** anon_vma_prepare(): give the VMA an anon_vma, reusing a compatible neighbour's when it can. */
export function anon_vma_prepare(m: Machine, vma: vm_area_struct): void {
  if (vma.anon_vma) return;
  const av = find_mergeable_anon_vma(vma) ?? m.anon_vma_alloc(null);
  vma.anon_vma = av;
  vma.anon_vma_chain = [av];
}

/**
 * anon_vma_compatible(): neighbours whose flags differ only in access bits or in the flags merging
 * ignores (soft-dirty, the sticky guard flag "gu" since the sticky-flags series) may share an
 * anon_vma (seen on this kernel: a VMA that had MADV_GUARD_INSTALL took its neighbour's).
 */
function anon_vma_compatible(a: vm_area_struct, b: vm_area_struct): boolean {
  return (
    a.vm_end === b.vm_start &&
    a.vm_file === b.vm_file &&
    !((a.vm_flags ^ b.vm_flags) & ~(VM_ACCESS_FLAGS | VM_IGNORE_MERGE)) &&
    b.vm_pgoff === a.vm_pgoff + (b.vm_start - a.vm_start) / PAGE_SIZE
  );
}

function reusable_anon_vma(old: vm_area_struct, a: vm_area_struct, b: vm_area_struct) {
  if (anon_vma_compatible(a, b) && old.anon_vma && old.anon_vma_chain.length === 1) return old.anon_vma;
  return null;
}

/** find_mergeable_anon_vma(): next first, then prev. */
function find_mergeable_anon_vma(vma: vm_area_struct) {
  const mt = vma.vm_mm.mm_mt;
  const next = mt.next(vma);
  if (next) {
    const av = reusable_anon_vma(next, vma, next);
    if (av) return av;
  }
  const prev = mt.prev(vma);
  if (prev) return reusable_anon_vma(prev, prev, vma);
  return null;
}

function counterFor(vma: vm_area_struct, pfnIsAnon: boolean): number {
  if (pfnIsAnon) return MM_ANONPAGES;
  return vma.vm_file?.inode.mmapKind === "shmem" ? MM_SHMEMPAGES : MM_FILEPAGES;
}

/**
 * Install a PTE for pfn at vpn (over pte_none) and account it (set_pte_at + mm counter + mapcount;
 * mlock_vma_folio in a VM_LOCKED VMA).
 */
function set_pte(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  vpn: number,
  pfn: number,
  bits: number,
  counter: number,
) {
  mm.pgd.setAt(vpn, mk_pte(pfn, bits));
  if (!(bits & PTE_SPECIAL)) {
    m.frames.mapcount[pfn]!++;
    m.frames._refcount[pfn]!++;
    mm.rss_stat[counter]!++;
    if (vma.vm_flags & VM_LOCKED) m.frames.lruvec.mlock_folio(pfn);
  }
}

/** The page-cache frame for index, reading it in on a miss (major); null when beyond EOF. */
function find_get_page(
  m: Machine,
  inode: Inode,
  index: number,
  vma: vm_area_struct,
): { pfn: number; major: boolean } {
  const hit = inode.i_pages.get(index);
  if (hit !== undefined) return { pfn: hit, major: false };
  if (inode.mmapKind === "shmem") {
    // shmem allocates a zeroed page in its cache: no I/O, so a minor fault; one read back from
    // swap is major.
    const major = inode.i_swap.has(index);
    return { pfn: add_to_page_cache(m, inode, index), major };
  }
  // do_sync_mmap_readahead(): none for MADV_RANDOM; from the page on for MADV_SEQUENTIAL; else
  // read-around, ra_pages centred on the page. (The kernel's mmap_miss heuristic, which stops
  // read-around for a file that misses much more than it hits, is not modelled.)
  const ra_pages = Math.floor((m.profile.readAheadKb * 1024) / PAGE_SIZE);
  if (!(vma.vm_flags & VM_RAND_READ) && ra_pages > 0) {
    const eof = Math.ceil(inode.i_size / PAGE_SIZE);
    const start = vma.vm_flags & VM_SEQ_READ ? index : Math.max(0, index - Math.floor(ra_pages / 2));
    const end = Math.min(eof, start + ra_pages);
    // Under memory pressure read-around takes only pages the min watermark can spare (the
    // fault reserved one page, for the page itself).
    for (let ix = start; ix < end; ix++)
      if (!inode.i_pages.has(ix) && (ix === index || nr_free_pages(m) > m.watermarks.min + 2))
        add_to_page_cache(m, inode, ix);
  }
  const pfn = inode.i_pages.get(index) ?? add_to_page_cache(m, inode, index);
  return { pfn, major: true };
}

/** do_fault_around(): map the cached pages of the fault-around window that are not mapped yet. */
function do_fault_around(m: Machine, mm: mm_struct, vma: vm_area_struct, addr: number, inode: Inode): number {
  const nr_pages = Math.max(1, Math.floor(m.profile.faultAroundBytes / PAGE_SIZE));
  if (nr_pages <= 1) return 0;
  const pgoff = linear_page_index(vma, addr);
  const vpn = addr / PAGE_SIZE;
  const pte_off = vpn % PTRS_PER_PTE;
  const vma_off = pgoff - vma.vm_pgoff;
  const from_pte = Math.max(pte_off - (pte_off % nr_pages), pte_off - Math.min(pte_off, vma_off));
  const to_pte = Math.min(from_pte + nr_pages, PTRS_PER_PTE, pte_off + vma.nr_pages - vma_off) - 1;
  const eof = Math.ceil(inode.i_size / PAGE_SIZE);
  const counter = counterFor(vma, false);
  const pgd = mm.pgd;
  if (inode.mmapKind !== "shmem" && !pgd.hasTable(vpn)) {
    // filemap_map_pages() installs a missing PTE table only when the first cached page of the
    // window is not the file's last (a large mapping there could cross i_size); when it is, it
    // finds no table and maps nothing (observed: a 4-page file mapped from page 3 of it, a read
    // past EOF -> SIGBUS and Rss 0; from page 2 -> pages 2 and 3 mapped).
    for (let i = from_pte; i <= to_pte; i++) {
      const idx = pgoff + i - pte_off;
      if (idx >= eof) break;
      if (!inode.i_pages.has(idx)) continue;
      if (idx === eof - 1) return 0;
      break;
    }
  }
  let mapped = 0;
  for (let i = from_pte; i <= to_pte; i++) {
    const idx = pgoff + i - pte_off;
    if (idx >= eof) break;
    const v = vpn - pte_off + i;
    if (pgd.get(v) !== 0) continue;
    const pfn = inode.i_pages.get(idx);
    if (pfn === undefined) continue;
    // Mapped read-only: a later write takes a (write-protect) fault, even for shared mappings.
    set_pte(m, mm, vma, v, pfn, filePteBits(vma), counter);
    mapped++;
  }
  return mapped;
}

/**
 * handle_mm_fault(): fault in the page at addr (page aligned, inside vma) for read or write.
 * The outcome is written into `out` (reused by callers that fault many pages) and returned; the
 * caller counts it (min_flt / maj_flt) unless it failed with a signal.
 */
export function handle_mm_fault(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  addr: number,
  write: boolean,
  out: FaultResult = { code: 0, kind: "none", mapped: 0 },
): FaultResult {
  // An address space the OOM killer tore down under a multi-page operation takes no more pages.
  if (mm.mm_users === 0) return done(out, VM_FAULT_OOM, "none", 0);
  const vpn = addr / PAGE_SIZE;
  let pte = mm.pgd.get(vpn);
  // Room for the pages this fault may allocate, before it looks at anything: reclaim may unmap
  // any page, this one included.
  const need = fault_pages_needed(m, vma, pte, write);
  if (need && nr_free_pages(m) - need < m.watermarks.low) {
    if (__alloc_pages_slowpath(m, need, mm, true) !== RESERVE_OK) return done(out, VM_FAULT_OOM, "none", 0);
    pte = mm.pgd.get(vpn);
  }
  const bits = pte & 0xff;
  if (bits & PTE_GUARD) return done(out, VM_FAULT_SIGSEGV, "none", 0);
  if (bits & PTE_HWPOISON) return done(out, VM_FAULT_HWPOISON, "none", 0);
  if (bits & PTE_SWAP) return do_swap_page(m, mm, vma, addr, pte, write, out);

  if (bits & PTE_PRESENT) {
    if (!write || bits & PTE_WRITE) {
      // Spurious: already satisfied (another path mapped it). Mark young.
      mm.pgd.setAt(vpn, pte | PTE_YOUNG);
      return done(out, VM_FAULT_OK, "none", 0);
    }
    return do_wp_page(m, mm, vma, addr, pte, out);
  }

  // [vvar] and [vdso]: their pages are the kernel's, shared by every process, not the task's
  // memory. The zero page stands in for them (mapped, but no frame of the machine's and no RSS);
  // a write (after mprotect) copies it into a private anonymous page, as do_cow_fault would.
  if (vma.vm_ops === "special" && !write) {
    set_pte(m, mm, vma, vpn, m.frames.zero_pfn, PTE_PRESENT | PTE_SPECIAL | PTE_YOUNG, MM_ANONPAGES);
    return done(out, VM_FAULT_OK, "zero", 1);
  }
  const inode = vma.vm_file?.inode;
  if (vma.vm_ops === "anonymous" || !inode) return do_anonymous_page(m, mm, vma, addr, write, out);

  const index = linear_page_index(vma, addr);
  // Wholly past the end of the file: SIGBUS, for shmem too (a shared anonymous mapping grown by
  // mremap faults past its object's size: observed).
  const beyond_eof = index >= Math.ceil(inode.i_size / PAGE_SIZE);
  const shared = (vma.vm_flags & VM_SHARED) !== 0;
  // The PTE table comes with the first entry installed: a fault that maps nothing (SIGBUS) leaves
  // none behind (do_fault frees its preallocated table).
  if (!write) {
    // do_read_fault(): fault-around first (even when the page itself is past EOF); it may map the page.
    let mapped = do_fault_around(m, mm, vma, addr, inode);
    if (beyond_eof) return done(out, VM_FAULT_SIGBUS, "none", mapped);
    const kind = inode.mmapKind === "shmem" ? "shmem" : "file";
    if (mm.pgd.get(vpn) & PTE_PRESENT) return done(out, VM_FAULT_OK, kind, mapped);
    const { pfn, major } = find_get_page(m, inode, index, vma);
    if (major) {
      // The I/O drops the lock and the fault is retried (counted once, as major): the retry's
      // fault-around maps the page together with the neighbours read-around brought in.
      mapped += do_fault_around(m, mm, vma, addr, inode);
      if (mm.pgd.get(vpn) & PTE_PRESENT) return done(out, VM_FAULT_MAJOR, kind, mapped);
    }
    set_pte(m, mm, vma, vpn, pfn, filePteBits(vma), counterFor(vma, false));
    mapped++;
    return done(out, major ? VM_FAULT_MAJOR : VM_FAULT_OK, kind, mapped);
  }
  // do_cow_fault() prepares the anon_vma before it asks the file for the page, so a private write
  // fault past EOF leaves the VMA with one (observed: its fork child then refuses merges).
  if (!shared) anon_vma_prepare(m, vma);
  if (beyond_eof) return done(out, VM_FAULT_SIGBUS, "none", 0);
  const { pfn, major } = find_get_page(m, inode, index, vma);
  if (shared) {
    // do_shared_fault(): the page-cache page itself, writable and dirty.
    m.frames.flags[pfn]! |= PG_dirty;
    set_pte(m, mm, vma, vpn, pfn, PTE_PRESENT | PTE_WRITE | PTE_DIRTY | PTE_YOUNG, counterFor(vma, false));
    return done(
      out,
      major ? VM_FAULT_MAJOR : VM_FAULT_OK,
      inode.mmapKind === "shmem" ? "shmem" : "shared",
      1,
    );
  }
  // do_cow_fault(): a private copy of the file page.
  const np = alloc_anon(m, vma, addr);
  m.frames.copy(np, pfn);
  set_pte(m, mm, vma, vpn, np, anonPteBits(vma), MM_ANONPAGES);
  m.frames.put_page(np);
  return done(out, major ? VM_FAULT_MAJOR : VM_FAULT_OK, "cow", 1);
}

/**
 * The most pages a fault on this PTE can allocate: a new anonymous page, a page-cache page (its
 * read-around neighbours only if memory can spare them), a swapped-in page, and a copy for a
 * private write on top of the last two.
 */
function fault_pages_needed(m: Machine, vma: vm_area_struct, pte: number, write: boolean): number {
  const bits = pte & 0xff;
  if (bits & (PTE_GUARD | PTE_HWPOISON)) return 0;
  if (bits & PTE_PRESENT) return write && !(bits & PTE_WRITE) && !(vma.vm_flags & VM_SHARED) ? 1 : 0;
  if (bits & PTE_SWAP) return write ? 2 : 1;
  if (vma.vm_ops === "special") return write ? 1 : 0;
  if (vma.vm_ops === "anonymous" || !vma.vm_file) return !write && m.profile.zeroPage ? 0 : 1;
  return write && !(vma.vm_flags & VM_SHARED) ? 2 : 1;
}

/**
 * do_swap_page(): the page of a swap entry, from the swap cache (a minor fault) or read into it
 * from the slot (major; the workingset refault check decides its list). The entry's count drops;
 * the page leaves the swap cache (its slot freed) when no other entry refers to it and it is
 * locked, swap is more than half full, or this is a write to the only mapping. It is mapped
 * writable at once when it is exclusive (its entry said so, or nothing else holds it); a write
 * that could not be satisfied that way continues as a write-protect fault (COW).
 */
export function do_swap_page(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  addr: number,
  pte: number,
  write: boolean,
  out: FaultResult,
): FaultResult {
  const f = m.frames;
  const swap = m.swap;
  const vpn = addr / PAGE_SIZE;
  const slot = pte_pfn(pte);
  let pfn = swap.cache[slot]!;
  const major = pfn === 0;
  if (major && write && swap.swap_map[slot] === 1 && vma.vm_flags & VM_WRITE && !(vma.vm_flags & VM_LOCKED)) {
    // A write to a page only this entry refers to: through the swap cache and straight out of it
    // again (it is written, so it keeps no slot), exclusive, writable and dirty.
    pfn = alloc_page(
      m,
      vma.anon_vma!.root.id,
      linear_page_index(vma, addr),
      PG_anon | PG_swapbacked | PG_anon_exclusive | PG_dirty,
    );
    if (swap.data[slot] === 0) m.vm_events.swpin_zero++;
    else {
      m.vm_events.pswpin++;
      m.vm_events.pgpgin += PAGE_SIZE / 1024;
    }
    workingset_refault(m, pfn, swap.take_slot(slot, pfn));
    mm.rss_stat[MM_SWAPENTS]!--;
    mm.rss_stat[MM_ANONPAGES]!++;
    mm.pgd.setAt(vpn, mk_pte(pfn, PTE_PRESENT | PTE_YOUNG | PTE_WRITE | PTE_DIRTY));
    f.mapcount[pfn] = 1;
    if (m.sink) m.emit({ type: "swap_in", pid: mm.owner ?? 0, mm: mm.id, addr, slot, major });
    return done(out, VM_FAULT_MAJOR, "swapin", 1);
  }
  if (major) {
    pfn = alloc_page(m, vma.anon_vma!.root.id, linear_page_index(vma, addr), PG_anon | PG_swapbacked);
    const zero = swap.data[slot] === 0;
    swap.add_to_swap_cache(pfn, slot);
    if (zero) m.vm_events.swpin_zero++;
    else {
      m.vm_events.pswpin++;
      m.vm_events.pgpgin += PAGE_SIZE / 1024;
    }
    const shadow = swap.shadow[slot]!;
    swap.shadow[slot] = 0;
    workingset_refault(m, pfn, shadow);
  } else f.get_page(pfn);
  // The reference taken here becomes the PTE's.
  swap.swap_free(slot);
  mm.rss_stat[MM_SWAPENTS]!--;
  mm.rss_stat[MM_ANONPAGES]!++;
  if (
    swap.vm_swap_full() ||
    vma.vm_flags & VM_LOCKED ||
    f.flags[pfn]! & PG_mlocked ||
    (write && f._refcount[pfn] === 2)
  )
    swap.folio_free_swap(pfn);
  let bits = PTE_PRESENT | PTE_YOUNG;
  if (pte & PTE_SWP_EXCLUSIVE || f._refcount[pfn] === 1) {
    f.flags[pfn]! |= PG_anon_exclusive;
    if (vma.vm_flags & VM_WRITE) {
      bits |= PTE_WRITE;
      if (write) {
        bits |= PTE_DIRTY;
        write = false;
      }
    }
  }
  mm.pgd.setAt(vpn, mk_pte(pfn, bits));
  f.mapcount[pfn]!++;
  if (vma.vm_flags & VM_LOCKED) f.lruvec.mlock_folio(pfn);
  if (m.sink) m.emit({ type: "swap_in", pid: mm.owner ?? 0, mm: mm.id, addr, slot, major });
  if (write) do_wp_page(m, mm, vma, addr, mm.pgd.get(vpn), out);
  return done(out, major ? VM_FAULT_MAJOR : VM_FAULT_OK, "swapin", 1);
}

/**
 * vma_wants_writenotify(): shared writable mappings of files that track dirtying (page_mkwrite,
 * dirty accounting: page-cache files) map pages read-only so the first write faults. shmem does not.
 */
export function vma_wants_writenotify(vma: vm_area_struct): boolean {
  return (
    (vma.vm_flags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE) &&
    vma.vm_file?.inode.mmapKind === "page_cache"
  );
}

/** The PTE a read fault installs for a file page: vm_page_prot (writable only for shared, no writenotify). */
function filePteBits(vma: vm_area_struct): number {
  const writable =
    (vma.vm_flags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE) && !vma_wants_writenotify(vma);
  return PTE_PRESENT | PTE_YOUNG | (writable ? PTE_WRITE : 0);
}

function anonPteBits(vma: vm_area_struct): number {
  return PTE_PRESENT | PTE_YOUNG | (vma.vm_flags & VM_WRITE ? PTE_WRITE | PTE_DIRTY : 0);
}

/** A new anonymous page: clean until a PTE maps it dirty (smaps counts PTE or page dirtiness). */
function alloc_anon(m: Machine, vma: vm_area_struct, addr: number): number {
  return alloc_page(
    m,
    vma.anon_vma!.root.id,
    linear_page_index(vma, addr),
    PG_anon | PG_swapbacked | PG_anon_exclusive,
  );
}

/** do_anonymous_page(): the zero page for reads where the kernel has one, else a new zeroed page. */
function do_anonymous_page(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  addr: number,
  write: boolean,
  out: FaultResult,
): FaultResult {
  const vpn = addr / PAGE_SIZE;
  if (!write && m.profile.zeroPage) {
    set_pte(m, mm, vma, vpn, m.frames.zero_pfn, PTE_PRESENT | PTE_SPECIAL | PTE_YOUNG, MM_ANONPAGES);
    return done(out, VM_FAULT_OK, "zero", 1);
  }
  anon_vma_prepare(m, vma);
  const pfn = alloc_anon(m, vma, addr);
  // The PTE takes over the allocation's reference.
  mm.pgd.setAt(vpn, mk_pte(pfn, anonPteBits(vma)));
  m.frames.mapcount[pfn] = 1;
  mm.rss_stat[MM_ANONPAGES]!++;
  if (vma.vm_flags & VM_LOCKED) m.frames.lruvec.mlock_folio(pfn);
  return done(out, VM_FAULT_OK, "anon", 1);
}

/**
 * wp_can_reuse_anon_folio(): nothing but this mapping holds the page once a swap cache that no
 * swap entry needs any more has let it go.
 */
function wp_can_reuse_anon_folio(m: Machine, pfn: number): boolean {
  const f = m.frames;
  const swapcache = f.flags[pfn]! & PG_swapcache ? 1 : 0;
  if (f._refcount[pfn]! > 1 + swapcache) return false;
  if (swapcache) m.swap.folio_free_swap(pfn);
  return f._refcount[pfn] === 1;
}

/** do_wp_page(): a write to a present, write-protected PTE: reuse an exclusive anon page, else copy. */
function do_wp_page(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  addr: number,
  pte: number,
  out: FaultResult,
): FaultResult {
  const vpn = addr / PAGE_SIZE;
  const pfn = pte_pfn(pte);
  const bits = pte & 0xff;
  const f = m.frames;
  if (vma.vm_flags & VM_SHARED && !(bits & PTE_SPECIAL)) {
    // Shared mapping: page_mkwrite, then the same page becomes writable and dirty.
    f.flags[pfn]! |= PG_dirty;
    mm.pgd.setAt(vpn, pte | PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
    return done(out, VM_FAULT_OK, "shared", 0);
  }
  if (
    !(bits & PTE_SPECIAL) &&
    f.isAnon(pfn) &&
    (f.flags[pfn]! & PG_anon_exclusive || wp_can_reuse_anon_folio(m, pfn))
  ) {
    // wp_page_reuse(): the last user of a COW page takes it back exclusively.
    f.flags[pfn]! |= PG_anon_exclusive;
    mm.pgd.setAt(vpn, pte | PTE_WRITE | PTE_DIRTY | PTE_YOUNG);
    return done(out, VM_FAULT_OK, "reuse", 0);
  }
  // wp_page_copy(): a new anonymous page replaces the old mapping.
  anon_vma_prepare(m, vma);
  const np = alloc_anon(m, vma, addr);
  const locked = (vma.vm_flags & VM_LOCKED) !== 0;
  if (!(bits & PTE_SPECIAL)) {
    f.copy(np, pfn);
    mm.rss_stat[f.isAnon(pfn) ? MM_ANONPAGES : counterFor(vma, false)]!--;
    f.mapcount[pfn]!--;
    if (locked) f.lruvec.munlock_folio(pfn);
    f.put_page(pfn);
  }
  // The new entry replaces the old one in place (the PTE never goes through none).
  mm.pgd.setAt(vpn, mk_pte(np, anonPteBits(vma) | PTE_DIRTY));
  f.mapcount[np]!++;
  mm.rss_stat[MM_ANONPAGES]!++;
  if (locked) f.lruvec.mlock_folio(np);
  return done(out, VM_FAULT_OK, "cow", 0);
}
