/**
 * madvise(2) (mm/madvise.c): global checks, then a walk over the VMAs that skips holes and
 * reports ENOMEM at the end. Flag-changing advices split and merge through vma_modify(); the
 * others act on pages (DONTNEED, FREE, REMOVE, WILLNEED, COLD, PAGEOUT, GUARD_*, POPULATE_*).
 */
import { EACCES, EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM } from "../abi/errno.js";
import {
  MADV_COLD,
  MADV_COLLAPSE,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_HWPOISON,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_SOFT_OFFLINE,
  MADV_UNMERGEABLE,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  PAGE_SIZE,
  PMD_SIZE,
} from "../abi/mman.js";
import { assertUlong, offsetInPage, pageAlignUlong } from "../abi/ulong.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import {
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
} from "../mem/frames.js";
import { alloc_page } from "../mem/page_alloc.js";
import { delete_from_page_cache, shmem_free_swap } from "../mem/page_cache.js";
import { RESERVE_OK, reclaim_pages, reserve_pages } from "../mem/vmscan.js";
import type { task_struct } from "../task/task.js";
import { add_to_page_cache, anon_vma_prepare, do_swap_page, linear_page_index } from "./fault.js";
import { faultin_page_range, populate_vma_page_range } from "./gup.js";
import {
  mk_pte,
  PTE_DIRTY,
  PTE_GUARD,
  PTE_HWPOISON,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_WRITE,
  PTE_YOUNG,
  pte_pfn,
} from "./page_table.js";
import {
  MM_ANONPAGES,
  MM_SWAPENTS,
  MMF_DISABLE_THP,
  type mm_struct,
  type vm_area_struct,
  vma_is_anonymous,
} from "./types.js";
import {
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_DROPPABLE,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_IO,
  VM_LOCKED,
  VM_MAYBE_GUARD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_MERGEABLE,
  VM_MIXEDMAP,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WIPEONFORK,
  VM_WRITE,
} from "./vm_flags.js";
import { vm_flags_reset, vma_modify } from "./vma.js";
import { zap_page_range } from "./zap.js";

const VALID_ADVICE = new Set([
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_REMOVE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_DONTDUMP,
  MADV_DODUMP,
  MADV_WIPEONFORK,
  MADV_KEEPONFORK,
  MADV_COLD,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_DONTNEED_LOCKED,
  MADV_COLLAPSE,
  MADV_HWPOISON,
  MADV_SOFT_OFFLINE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
]);

/** madvise(2). */
export function sys_madvise(
  m: Machine,
  task: task_struct,
  start: number,
  len_in: number,
  behavior: number,
): SysResult<number> {
  assertUlong(start, "addr");
  assertUlong(len_in, "length");
  if (!VALID_ADVICE.has(behavior)) return err(EINVAL);
  if ((behavior === MADV_HWPOISON || behavior === MADV_SOFT_OFFLINE) && !m.profile.memoryFailure)
    return err(EINVAL);
  if (offsetInPage(start)) return err(EINVAL);
  const len = pageAlignUlong(len_in);
  if (len_in !== 0 && len === 0) return err(EINVAL);
  if (len < 0 || start < 0) {
    // start + len wraps unless both stay far below 2^64; huge ranges can only fail later.
    const a = len < 0 ? len : start;
    const b = len < 0 ? start : len;
    if ((len < 0 && start < 0) || a + b >= 0) return err(EINVAL);
  }
  if (len === 0) return ok(0);
  const end = len < 0 || start < 0 ? 2 ** 64 : start + len;
  if (behavior === MADV_HWPOISON || behavior === MADV_SOFT_OFFLINE)
    return madvise_inject_error(m, task, start, end, behavior);
  if (behavior === MADV_POPULATE_READ || behavior === MADV_POPULATE_WRITE) {
    const r = faultin_page_range(m, task, start, end, behavior === MADV_POPULATE_WRITE);
    return r < 0 ? err(-r) : ok(0);
  }
  const r = madvise_walk_vmas(m, task, task.mm!, start, end, behavior);
  return r < 0 ? err(-r) : ok(0);
}

/** madvise_walk_vmas(): visit each VMA piece; holes give ENOMEM at the end, errors stop at once. */
function madvise_walk_vmas(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  start: number,
  end: number,
  behavior: number,
): number {
  let unmapped_error = 0;
  // A start at or above 2^63 has no VMA at or after it.
  let vma = start < 0 ? undefined : mm.mm_mt.find(start);
  let prev: vm_area_struct | undefined = vma ? mm.mm_mt.prev(vma) : mm.mm_mt.last();
  if (vma && start > vma.vm_start) prev = vma;
  for (;;) {
    if (!vma) return -ENOMEM;
    if (start < vma.vm_start) {
      unmapped_error = -ENOMEM;
      start = vma.vm_start;
      if (start >= end) break;
    }
    const tmp = Math.min(vma.vm_end, end);
    const r = madvise_vma_behavior(m, task, mm, vma, prev, start, tmp, behavior);
    if (r.error) return r.error;
    prev = r.prev;
    start = tmp;
    if (prev && start < prev.vm_end) start = prev.vm_end;
    if (start >= end) break;
    vma = prev ? mm.mm_mt.find(prev.vm_end) : mm.mm_mt.find(start);
  }
  return unmapped_error;
}

interface Visit {
  error: number;
  prev: vm_area_struct | undefined;
}

function madvise_vma_behavior(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  vma: vm_area_struct,
  prev: vm_area_struct | undefined,
  start: number,
  end: number,
  behavior: number,
): Visit {
  const done = (error: number): Visit => ({ error, prev: vma });
  switch (behavior) {
    case MADV_REMOVE:
      return done(madvise_remove(m, vma, start, end));
    case MADV_WILLNEED:
      madvise_willneed(m, vma, start, end);
      return done(0);
    case MADV_COLD:
    case MADV_PAGEOUT:
      if (vma.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) return done(-EINVAL);
      madvise_cold_or_pageout(m, mm, vma, start, end, behavior === MADV_PAGEOUT);
      return done(0);
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
    case MADV_FREE: {
      const forbidden = VM_PFNMAP | (behavior === MADV_DONTNEED_LOCKED ? 0 : VM_LOCKED);
      if (vma.vm_flags & forbidden) return done(-EINVAL);
      if (behavior === MADV_FREE) {
        if (vma.vm_ops !== "anonymous") return done(-EINVAL);
        madvise_free(m, mm, start, end);
      } else {
        zap_page_range(m, mm, vma, start, end, false);
      }
      return done(0);
    }
    case MADV_COLLAPSE:
      return done(madvise_collapse(m, mm, vma, start, end));
    case MADV_GUARD_INSTALL:
      if (vma.vm_flags & (VM_SPECIAL | VM_HUGETLB | VM_LOCKED)) return done(-EINVAL);
      vma.vm_flags |= VM_MAYBE_GUARD;
      // Page tables now hold markers. An anonymous VMA gets an anon_vma for them (observed: a fork
      // child's neighbour does not merge with it); a file VMA gets none (its child's neighbour
      // merges) - fork copies the markers because of "gu" either way.
      if (vma_is_anonymous(vma)) anon_vma_prepare(m, vma);
      zap_page_range(m, mm, vma, start, end, false);
      set_guards(mm, start, end, true);
      return done(0);
    case MADV_GUARD_REMOVE:
      if (vma.vm_flags & (VM_SPECIAL | VM_HUGETLB)) return done(-EINVAL);
      set_guards(mm, start, end, false);
      return done(0);
  }
  // The advices below change vm_flags, splitting and merging VMAs.
  let new_flags = vma.vm_flags;
  switch (behavior) {
    case MADV_NORMAL:
      new_flags &= ~(VM_RAND_READ | VM_SEQ_READ);
      break;
    case MADV_SEQUENTIAL:
      new_flags = (new_flags & ~VM_RAND_READ) | VM_SEQ_READ;
      break;
    case MADV_RANDOM:
      new_flags = (new_flags & ~VM_SEQ_READ) | VM_RAND_READ;
      break;
    case MADV_DONTFORK:
      new_flags |= VM_DONTCOPY;
      break;
    case MADV_DOFORK:
      if (new_flags & VM_IO) return done(-EINVAL);
      new_flags &= ~VM_DONTCOPY;
      break;
    case MADV_WIPEONFORK:
      // Only anonymous private memory can be wiped in the child.
      if (vma.vm_file || new_flags & VM_SHARED) return done(-EINVAL);
      new_flags |= VM_WIPEONFORK;
      break;
    case MADV_KEEPONFORK:
      if (new_flags & VM_DROPPABLE) return done(-EINVAL);
      new_flags &= ~VM_WIPEONFORK;
      break;
    case MADV_DONTDUMP:
      new_flags |= VM_DONTDUMP;
      break;
    case MADV_DODUMP:
      if (new_flags & (VM_SPECIAL | VM_DROPPABLE)) return done(-EINVAL);
      new_flags &= ~VM_DONTDUMP;
      break;
    case MADV_MERGEABLE:
      // KSM ignores the advice on mappings it cannot merge.
      if (
        !(
          new_flags &
          (VM_MERGEABLE |
            VM_SHARED |
            VM_MAYSHARE |
            VM_PFNMAP |
            VM_IO |
            VM_DONTEXPAND |
            VM_HUGETLB |
            VM_MIXEDMAP |
            VM_DROPPABLE)
        )
      )
        new_flags |= VM_MERGEABLE;
      break;
    case MADV_UNMERGEABLE:
      new_flags &= ~VM_MERGEABLE;
      break;
    case MADV_HUGEPAGE:
      new_flags = (new_flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
      break;
    case MADV_NOHUGEPAGE:
      new_flags = (new_flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
      break;
  }
  if (new_flags === vma.vm_flags) return { error: 0, prev: vma };
  const r = vma_modify(m, mm, prev, vma, start, end, new_flags);
  // madvise reports a failed split as EAGAIN (kernel resources temporarily unavailable).
  if (typeof r === "number") return { error: r === -ENOMEM ? -EAGAIN : r, prev };
  vm_flags_reset(r.vma, new_flags);
  void task;
  return { error: 0, prev: r.vma };
}

/**
 * MADV_FREE (madvise_free_pte_range): every mapped anonymous page gets a clean, old PTE and becomes
 * lazily freeable (folio_mark_lazyfree: onto the inactive file list, where reclaim drops it
 * unless it is written again); only a page no one else maps also loses its dirty flag.
 */
function madvise_free(m: Machine, mm: mm_struct, start: number, end: number): void {
  const f = m.frames;
  const pgd = mm.pgd;
  pgd.forEach(start / PAGE_SIZE, end / PAGE_SIZE, (_vpn, slot) => {
    const pte = pgd.ent[slot]!;
    if (pte & PTE_SWAP) {
      // A swapped-out page is simply dropped: its slot is freed, the next access reads zeros.
      m.swap.free_swap_and_cache(pte_pfn(pte));
      pgd.set(slot, 0);
      mm.rss_stat[MM_SWAPENTS]!--;
      return;
    }
    if (!(pte & PTE_PRESENT) || pte & PTE_SPECIAL) return;
    const pfn = pte_pfn(pte);
    if (!f.isAnon(pfn)) return;
    if (f.flags[pfn]! & PG_swapcache) {
      // Only a page this mapping alone maps can give its slot up; one that keeps it is left alone.
      if (f.mapcount[pfn] !== 1 || !m.swap.folio_free_swap(pfn)) return;
    }
    if (f.mapcount[pfn] === 1) f.flags[pfn]! &= ~PG_dirty;
    pgd.ent[slot] = pte & ~(PTE_DIRTY | PTE_YOUNG);
    folio_mark_lazyfree(m, pfn);
  });
}

/** folio_mark_lazyfree(): an anonymous, swap-backed, evictable page moves to the inactive file list. */
function folio_mark_lazyfree(m: Machine, pfn: number): void {
  const f = m.frames;
  const pf = f.flags[pfn]! & ~PG_referenced;
  f.flags[pfn] = pf;
  if (pf & (PG_lazyfree | PG_mlocked | PG_swapcache)) return;
  f.flags[pfn] = (pf & ~PG_active) | PG_lazyfree;
  f.lruvec.move(pfn);
  m.vm_events.pglazyfree++;
}

/**
 * MADV_COLD and MADV_PAGEOUT (madvise_cold_or_pageout_pte_range): the accessed bits of the range's
 * pages are cleared. MADV_COLD then deactivates the pages only this mapping maps (onto the head of
 * their inactive list); MADV_PAGEOUT reclaims them whatever their bits (reclaim_pages): lazily
 * freed anonymous pages are discarded unless written again, other anonymous pages are swapped out
 * (with no free swap slot they stay, activated), clean page-cache pages leave the cache and dirty
 * ones are unmapped but stay (only kswapd writes file pages back). Page-cache pages of a file the
 * caller may not write are left alone.
 */
function madvise_cold_or_pageout(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  start: number,
  end: number,
  pageout: boolean,
) {
  const f = m.frames;
  const victims: number[] = [];
  const file = vma.vm_file;
  const fileOk =
    !!file && vma.vm_ops !== "anonymous" && file.writable && file.inode.mmapKind === "page_cache";
  const pgd = mm.pgd;
  pgd.forEach(start / PAGE_SIZE, end / PAGE_SIZE, (_vpn, slot) => {
    const bits = pgd.ent[slot]!;
    if (!(bits & PTE_PRESENT) || bits & PTE_SPECIAL) return;
    const pfn = pte_pfn(bits);
    pgd.ent[slot] = bits & ~PTE_YOUNG;
    f.flags[pfn]! &= ~PG_referenced;
    if (f.mapcount[pfn] !== 1) return;
    if (!pageout) folio_deactivate(m, pfn);
    else if (f.isAnon(pfn) || fileOk) victims.push(pfn);
  });
  if (victims.length) reclaim_pages(m, mm, victims);
}

/** folio_deactivate() (lru_deactivate): an active, evictable page moves to the head of its inactive list. */
function folio_deactivate(m: Machine, pfn: number): void {
  const f = m.frames;
  const pf = f.flags[pfn]!;
  if (pf & PG_mlocked || !(pf & PG_active)) return;
  f.flags[pfn] = pf & ~(PG_active | PG_referenced);
  f.lruvec.move(pfn);
  m.vm_events.pgdeactivate++;
}

/** MADV_REMOVE: punch a hole in the backing shared file (its pages go from every mapping). */
function madvise_remove(m: Machine, vma: vm_area_struct, start: number, end: number): number {
  if (vma.vm_flags & VM_LOCKED) return -EINVAL;
  const file = vma.vm_file;
  if (!file) return -EINVAL;
  if ((vma.vm_flags & (VM_SHARED | VM_MAYWRITE)) !== (VM_SHARED | VM_MAYWRITE)) return -EACCES;
  const inode = file.inode;
  const first = linear_page_index(vma, start);
  const last = linear_page_index(vma, end);
  for (const v of inode.i_mmap) {
    const other = v as vm_area_struct;
    const lo = Math.max(first, other.vm_pgoff);
    const hi = Math.min(last, other.vm_pgoff + other.nr_pages);
    if (lo >= hi) continue;
    const s = other.vm_start + (lo - other.vm_pgoff) * PAGE_SIZE;
    zap_page_range(m, other.vm_mm, other, s, s + (hi - lo) * PAGE_SIZE, false);
  }
  for (let idx = first; idx < last; idx++) {
    delete_from_page_cache(m, inode, idx);
    shmem_free_swap(m, inode, idx);
    inode.i_shadows.delete(idx);
    // The hole reads as zeros from now on.
    inode.disk.delete(idx);
  }
  return 0;
}

/** MADV_WILLNEED: read file pages into the page cache (no change to the mapping's RSS). */
function madvise_willneed(m: Machine, vma: vm_area_struct, start: number, end: number): void {
  const inode = vma.vm_file?.inode;
  if (!inode || vma.vm_ops === "anonymous" || inode.mmapKind !== "page_cache") return;
  const eof = Math.ceil(inode.i_size / PAGE_SIZE);
  const last = Math.min(linear_page_index(vma, end), eof);
  for (let idx = linear_page_index(vma, start); idx < last; idx++) {
    if (inode.i_pages.has(idx)) continue;
    // Readahead may reclaim, never kill (__GFP_NORETRY): it stops where memory runs out.
    if (reserve_pages(m, 1, vma.vm_mm, false) !== RESERVE_OK) return;
    add_to_page_cache(m, inode, idx);
  }
}

/**
 * MADV_COLLAPSE: every 2 MiB-aligned block of the range inside an eligible VMA becomes a huge
 * page: its missing pages are allocated (zeroed) and all 512 are marked PG_thp. A block with no
 * page present cannot be collapsed (EINVAL, as khugepaged's max_ptes_none check); a range with no
 * whole block does nothing and succeeds (observed).
 */
function madvise_collapse(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  start: number,
  end: number,
): number {
  if (!thp_collapse_allowed(mm, vma)) return -EINVAL;
  const hstart = Math.max(
    Math.ceil(start / PMD_SIZE) * PMD_SIZE,
    Math.ceil(vma.vm_start / PMD_SIZE) * PMD_SIZE,
  );
  const hend = Math.min(Math.floor(end / PMD_SIZE) * PMD_SIZE, Math.floor(vma.vm_end / PMD_SIZE) * PMD_SIZE);
  let result = 0;
  for (let b = hstart; b + PMD_SIZE <= hend; b += PMD_SIZE) {
    // Room for a whole huge page first (reclaim may unmap pages of this very block).
    if (reserve_pages(m, PMD_SIZE / PAGE_SIZE, mm) !== RESERVE_OK) return -ENOMEM;
    let present = 0;
    mm.pgd.forEach(b / PAGE_SIZE, (b + PMD_SIZE) / PAGE_SIZE, (_vpn, slot) => {
      const pte = mm.pgd.ent[slot]!;
      if ((pte & PTE_PRESENT && !(pte & PTE_SPECIAL)) || pte & PTE_SWAP) present++;
    });
    if (present === 0) {
      result = -EINVAL;
      continue;
    }
    anon_vma_prepare(m, vma);
    const f = m.frames;
    for (let addr = b; addr < b + PMD_SIZE; addr += PAGE_SIZE) {
      const vpn = addr / PAGE_SIZE;
      let pte = mm.pgd.get(vpn);
      if (pte & PTE_SWAP) {
        // __collapse_huge_page_swapin(): swapped-out pages come back first (room was reserved).
        do_swap_page(m, mm, vma, addr, pte, true, { code: 0, kind: "none", mapped: 0 });
        pte = mm.pgd.get(vpn);
      }
      if (pte & PTE_PRESENT && !(pte & PTE_SPECIAL)) {
        f.flags[pte_pfn(pte)]! |= PG_thp;
        continue;
      }
      if (pte & (PTE_GUARD | PTE_HWPOISON)) continue;
      const pfn = alloc_page(
        m,
        vma.anon_vma!.root.id,
        linear_page_index(vma, addr),
        PG_anon | PG_swapbacked | PG_thp | PG_anon_exclusive,
      );
      mm.pgd.setAt(
        vpn,
        mk_pte(pfn, PTE_PRESENT | PTE_YOUNG | (vma.vm_flags & VM_WRITE ? PTE_WRITE | PTE_DIRTY : 0)),
      );
      f.mapcount[pfn] = 1;
      mm.rss_stat[MM_ANONPAGES]!++;
      if (vma.vm_flags & VM_LOCKED) f.lruvec.mlock_folio(pfn);
    }
  }
  return result;
}

/**
 * thp_vma_allowable_order() for a forced collapse: private anonymous memory that has an anon_vma,
 * can hold a PMD-aligned 2 MiB page, and has not opted out (VM_NOHUGEPAGE, PR_SET_THP_DISABLE).
 */
function thp_collapse_allowed(mm: mm_struct, vma: vm_area_struct): boolean {
  if (mm.flags & MMF_DISABLE_THP) return false;
  if (vma.vm_ops !== "anonymous" || vma.vm_flags & (VM_SHARED | VM_NOHUGEPAGE | VM_SPECIAL | VM_HUGETLB))
    return false;
  if (!vma.anon_vma) return false;
  const haddr = Math.floor(vma.vm_end / PMD_SIZE) * PMD_SIZE - PMD_SIZE;
  return haddr >= vma.vm_start;
}

/** Install or remove guard markers over [start, end): markers replace nothing but empty PTEs. */
function set_guards(mm: mm_struct, start: number, end: number, install: boolean): void {
  for (let vpn = start / PAGE_SIZE; vpn < end / PAGE_SIZE; vpn++) {
    if (install) {
      if (mm.pgd.get(vpn) === 0) mm.pgd.setAt(vpn, PTE_GUARD);
    } else if (mm.pgd.get(vpn) === PTE_GUARD) mm.pgd.setAt(vpn, 0);
  }
}

/**
 * MADV_HWPOISON / MADV_SOFT_OFFLINE (madvise_inject_error): CAP_SYS_ADMIN only. Each page is
 * faulted in; HWPOISON then replaces it with a poisoned entry (a later access gets SIGBUS).
 */
function madvise_inject_error(
  m: Machine,
  task: task_struct,
  start: number,
  end: number,
  behavior: number,
): SysResult<number> {
  if (!task.caps.CAP_SYS_ADMIN) return err(EPERM);
  const mm = task.mm!;
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    const vma = mm.mm_mt.find(addr);
    if (!vma || vma.vm_start > addr) return err(EFAULT);
    if (populate_vma_page_range(m, task, vma, addr, addr + PAGE_SIZE) < 0) return err(EFAULT);
    if (behavior === MADV_HWPOISON) {
      zap_page_range(m, mm, vma, addr, addr + PAGE_SIZE, false);
      const vpn = addr / PAGE_SIZE;
      mm.pgd.setAt(vpn, PTE_HWPOISON);
    }
  }
  return ok(0);
}
