/**
 * mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2) (mm/mlock.c): RLIMIT_MEMLOCK,
 * partial application up to a hole, VM_LOCKED/VM_LOCKONFAULT split and merge, populate.
 */
import { EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM } from "../abi/errno.js";
import { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT, PAGE_SIZE } from "../abi/mman.js";
import { assertUlong, offsetInPage, pageAlignUlong, ulongAdd } from "../abi/ulong.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import type { task_struct } from "../task/task.js";
import { can_do_mlock } from "./accounting.js";
import { __mm_populate } from "./gup.js";
import { PTE_PRESENT, PTE_SPECIAL, pte_pfn } from "./page_table.js";
import type { mm_struct, vm_area_struct } from "./types.js";
import {
  VM_DROPPABLE,
  VM_HUGETLB,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_LOCKONFAULT,
  VM_SPECIAL,
} from "./vm_flags.js";
import { vm_flags_reset, vma_modify } from "./vma.js";

function memlock_pages(task: task_struct): number {
  const l = task.rlimits.MEMLOCK;
  return Number.isFinite(l) ? Math.floor(l / PAGE_SIZE) : Number.POSITIVE_INFINITY;
}

/** Normalise (start, len) as mlock does: no alignment check, the range is widened to pages. */
function mlock_range(start: number, len: number): { start: number; len: number } {
  const off = offsetInPage(start);
  return { start: start - off, len: pageAlignUlong(len + off) };
}

/** count_mm_mlocked_page_nr(): pages already locked in [start, start+len). */
function count_mm_mlocked_page_nr(mm: mm_struct, start: number, len: number): number {
  let count = 0;
  const end = start + len;
  for (const vma of mm.mm_mt.range(start, end)) {
    if (vma.vm_flags & VM_LOCKED) {
      count += (Math.min(end, vma.vm_end) - Math.max(start, vma.vm_start)) / PAGE_SIZE;
    }
  }
  return count;
}

/** do_mlock(): shared by mlock and mlock2. */
function do_mlock(
  m: Machine,
  task: task_struct,
  start: number,
  len: number,
  flags: number,
): SysResult<number> {
  if (!can_do_mlock(task)) return err(EPERM);
  const r = mlock_range(start, len);
  const mm = task.mm!;
  start = r.start;
  len = r.len;
  let locked = len < 0 ? Number.POSITIVE_INFINITY : len / PAGE_SIZE;
  const lock_limit = memlock_pages(task);
  locked += mm.locked_vm;
  if (locked > lock_limit && !task.caps.CAP_IPC_LOCK) {
    // Pages already locked in the range do not count twice.
    if (len >= 0 && start >= 0) locked -= count_mm_mlocked_page_nr(mm, start, len);
    if (locked > lock_limit) return err(ENOMEM);
  }
  const end = range_end(start, len);
  if (end === null) return err(EINVAL);
  const e = apply_vma_lock_flags(m, mm, start, end, flags);
  if (e) return err(-e);
  const p = __mm_populate(m, task, start, len, false);
  if (p < 0) return err(__mlock_posix_error_return(-p));
  return ok(0);
}

/** __mlock_posix_error_return(): GUP's EFAULT becomes ENOMEM, its ENOMEM becomes EAGAIN. */
function __mlock_posix_error_return(e: number): number {
  if (e === EFAULT) return ENOMEM;
  if (e === ENOMEM) return EAGAIN;
  return e;
}

/**
 * apply_vma_lock_flags(): set or clear the lock bits VMA by VMA; a hole ends the walk with ENOMEM,
 * keeping the VMAs already changed.
 */
/**
 * start + len as u64: null when it wraps (end < start), a value past every address (2^64) when the
 * range reaches beyond what safe integers hold (it can only end in a hole).
 */
function range_end(start: number, len: number): number | null {
  if (len === 0) return start;
  const end = ulongAdd(start, len);
  if (end === null) return null;
  return end < 0 ? 2 ** 64 : end;
}

function apply_vma_lock_flags(m: Machine, mm: mm_struct, start: number, end: number, flags: number): number {
  if (end === start) return 0;
  let vma = start < 0 ? undefined : mm.mm_mt.find(start);
  if (!vma || vma.vm_start > start) return -ENOMEM;
  let prev: vm_area_struct | undefined = mm.mm_mt.prev(vma);
  if (start > vma.vm_start) prev = vma;
  let nstart = start;
  let tmp = vma.vm_start;
  while (vma && vma.vm_start < end) {
    if (vma.vm_start !== tmp) return -ENOMEM;
    const newflags = (vma.vm_flags & ~VM_LOCKED_MASK) | flags;
    const r = mlock_fixup(m, mm, vma, prev, nstart, Math.min(vma.vm_end, end), newflags);
    if (r.error) return r.error;
    prev = r.vma;
    // Continue after the VMA just changed (it may have merged beyond this one).
    tmp = r.vma.vm_end;
    nstart = tmp;
    vma = mm.mm_mt.next(r.vma);
  }
  if (tmp < end) return -ENOMEM;
  return 0;
}

/** mlock_fixup(): change the lock bits of [start, end) of vma; special VMAs are left alone. */
function mlock_fixup(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  prev: vm_area_struct | undefined,
  start: number,
  end: number,
  newflags: number,
): { error: number; vma: vm_area_struct } {
  const oldflags = vma.vm_flags;
  if (newflags === oldflags || oldflags & (VM_SPECIAL | VM_HUGETLB | VM_DROPPABLE)) {
    return { error: 0, vma };
  }
  const r = vma_modify(m, mm, prev, vma, start, end, newflags);
  if (typeof r === "number") return { error: r, vma };
  const v = r.vma;
  const nr_pages = (end - start) / PAGE_SIZE;
  // Locked pages are counted when the lock is set or cleared, not when pages arrive.
  if (!(newflags & VM_LOCKED)) mm.locked_vm -= nr_pages;
  else if (!(oldflags & VM_LOCKED)) mm.locked_vm += nr_pages;
  vm_flags_reset(v, newflags);
  if ((oldflags ^ newflags) & VM_LOCKED)
    mlock_vma_pages_range(m, mm, start, end, (newflags & VM_LOCKED) !== 0);
  return { error: 0, vma: v };
}

/**
 * mlock_vma_pages_range(): the pages already mapped in [start, end) become mlocked (unevictable)
 * when the range is locked, or are munlocked when it is unlocked; pages faulted in later are
 * handled by the fault.
 */
export function mlock_vma_pages_range(
  m: Machine,
  mm: mm_struct,
  start: number,
  end: number,
  lock: boolean,
): void {
  const pgd = mm.pgd;
  const lruvec = m.frames.lruvec;
  pgd.forEach(start / PAGE_SIZE, end / PAGE_SIZE, (_vpn, slot) => {
    const pte = pgd.ent[slot]!;
    if (!(pte & PTE_PRESENT) || pte & PTE_SPECIAL) return;
    if (lock) lruvec.mlock_folio(pte_pfn(pte));
    else lruvec.munlock_folio(pte_pfn(pte));
  });
}

export function sys_mlock(m: Machine, task: task_struct, start: number, len: number): SysResult<number> {
  assertUlong(start, "addr");
  assertUlong(len, "len");
  return do_mlock(m, task, start, len, VM_LOCKED);
}

export function sys_mlock2(
  m: Machine,
  task: task_struct,
  start: number,
  len: number,
  flags: number,
): SysResult<number> {
  assertUlong(start, "addr");
  assertUlong(len, "len");
  if (flags & ~MLOCK_ONFAULT) return err(EINVAL);
  return do_mlock(m, task, start, len, flags & MLOCK_ONFAULT ? VM_LOCKED | VM_LOCKONFAULT : VM_LOCKED);
}

export function sys_munlock(m: Machine, task: task_struct, start: number, len: number): SysResult<number> {
  assertUlong(start, "addr");
  assertUlong(len, "len");
  const r = mlock_range(start, len);
  const end = range_end(r.start, r.len);
  if (end === null) return err(EINVAL);
  const e = apply_vma_lock_flags(m, task.mm!, r.start, end, 0);
  return e ? err(-e) : ok(0);
}

/** mlockall(2). */
export function sys_mlockall(m: Machine, task: task_struct, flags: number): SysResult<number> {
  if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT)
    return err(EINVAL);
  if (!can_do_mlock(task)) return err(EPERM);
  const mm = task.mm!;
  const lock_limit = memlock_pages(task);
  if (flags & MCL_CURRENT && mm.total_vm > lock_limit && !task.caps.CAP_IPC_LOCK) return err(ENOMEM);
  apply_mlockall_flags(m, mm, flags);
  if (flags & MCL_CURRENT) __mm_populate(m, task, 0, mm.task_size, true);
  return ok(0);
}

/** apply_mlockall_flags(): def_flags for MCL_FUTURE, then every VMA for MCL_CURRENT (errors ignored). */
function apply_mlockall_flags(m: Machine, mm: mm_struct, flags: number): void {
  mm.def_flags &= ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) {
    mm.def_flags |= VM_LOCKED;
    if (flags & MCL_ONFAULT) mm.def_flags |= VM_LOCKONFAULT;
    if (!(flags & MCL_CURRENT)) return;
  }
  let to_add = 0;
  if (flags & MCL_CURRENT) {
    to_add |= VM_LOCKED;
    if (flags & MCL_ONFAULT) to_add |= VM_LOCKONFAULT;
  }
  let prev: vm_area_struct | undefined;
  for (let vma = mm.mm_mt.first(); vma; ) {
    const newflags = (vma.vm_flags & ~VM_LOCKED_MASK) | to_add;
    const r = mlock_fixup(m, mm, vma, prev, vma.vm_start, vma.vm_end, newflags);
    // Errors are ignored; continue after whatever the VMA became.
    prev = r.error ? vma : r.vma;
    vma = mm.mm_mt.next(prev);
  }
}

export function sys_munlockall(m: Machine, task: task_struct): SysResult<number> {
  apply_mlockall_flags(m, task.mm!, 0);
  return ok(0);
}
