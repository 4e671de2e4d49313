/**
 * Faulting pages in on the task's behalf (mm/gup.c): MAP_POPULATE, MAP_LOCKED, mlock,
 * mlockall and MADV_POPULATE_*. Faults taken here count in the task's min_flt/maj_flt, as Linux
 * counts them.
 */
import { EFAULT, EINVAL, ENOMEM } from "../abi/errno.js";
import { PAGE_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import { PG_dirty, PG_referenced } from "../mem/frames.js";
import type { task_struct } from "../task/task.js";
import {
  type FaultResult,
  handle_mm_fault,
  VM_FAULT_HWPOISON,
  VM_FAULT_MAJOR,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
} from "./fault.js";
import { PTE_DIRTY, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, pte_pfn } from "./page_table.js";
import type { mm_struct, vm_area_struct } from "./types.js";
import {
  VM_ACCESS_FLAGS,
  VM_IO,
  VM_LOCKED,
  VM_LOCKONFAULT,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from "./vm_flags.js";
import { vma_lookup } from "./vma.js";

export const FOLL_WRITE = 1;
export const FOLL_FORCE = 2;
export const FOLL_MADV_POPULATE = 4;

/** check_vma_flags(): may GUP touch this VMA this way? */
function check_vma_flags(vma: vm_area_struct, gup_flags: number): boolean {
  const f = vma.vm_flags;
  if (f & (VM_IO | VM_PFNMAP)) return false;
  if (gup_flags & FOLL_WRITE) {
    if (!(f & VM_WRITE)) {
      if (!(gup_flags & FOLL_FORCE)) return false;
      // FOLL_FORCE writes only to COW mappings.
      if (f & VM_SHARED || !(f & VM_MAYWRITE)) return false;
    }
  } else if (!(f & VM_READ)) {
    if (!(gup_flags & FOLL_FORCE)) return false;
    if (!(f & VM_MAYREAD)) return false;
  }
  return true;
}

/**
 * follow_page() with FOLL_TOUCH: is the page already mapped as this access needs? A page found
 * for writing is marked dirty (unless its PTE already is), as GUP's touch does.
 */
function follow_page(m: Machine, mm: mm_struct, addr: number, write: boolean): boolean {
  const pte = mm.pgd.get(addr / PAGE_SIZE);
  if (!(pte & PTE_PRESENT) || (write && !(pte & PTE_WRITE))) return false;
  if (!(pte & PTE_SPECIAL)) {
    const f = m.frames;
    const pfn = pte_pfn(pte);
    if (write && !(pte & PTE_DIRTY)) f.flags[pfn]! |= PG_dirty;
    f.flags[pfn]! |= PG_referenced;
  }
  return true;
}

/**
 * __get_user_pages() over [start, start + nr*PAGE_SIZE) of one VMA: returns pages done, or a
 * negative errno (EFAULT for a signal or a refused VMA, ENOMEM for OOM).
 */
function get_user_pages_vma(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  vma: vm_area_struct,
  start: number,
  end: number,
  gup_flags: number,
): number {
  if (!check_vma_flags(vma, gup_flags)) return -EFAULT;
  const write = (gup_flags & FOLL_WRITE) !== 0;
  const r: FaultResult = { code: 0, kind: "none", mapped: 0 };
  let done = 0;
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    if (!follow_page(m, mm, addr, write)) {
      handle_mm_fault(m, mm, vma, addr, write, r);
      if (r.code & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON)) return done ? done : -EFAULT;
      // Out of memory; or the OOM killer chose this very address space: nothing more to do in it.
      if (r.code & VM_FAULT_OOM) return done && mm.mm_users > 0 ? done : -ENOMEM;
      m.vm_events.pgfault++;
      if (r.code & VM_FAULT_MAJOR) {
        task.maj_flt++;
        m.vm_events.pgmajfault++;
      } else task.min_flt++;
    }
    done++;
  }
  return done;
}

/** populate_vma_page_range(): fault in [start, end) of one VMA as mlock/MAP_POPULATE do. */
export function populate_vma_page_range(
  m: Machine,
  task: task_struct,
  vma: vm_area_struct,
  start: number,
  end: number,
): number {
  const nr = (end - start) / PAGE_SIZE;
  // mlock2(MLOCK_ONFAULT): pages are locked as they are faulted, not now.
  if ((vma.vm_flags & (VM_LOCKED | VM_LOCKONFAULT)) === (VM_LOCKED | VM_LOCKONFAULT)) return nr;
  let gup_flags = 0;
  // Write-fault writable private mappings to break COW now; shared ones do not COW.
  if ((vma.vm_flags & (VM_WRITE | VM_SHARED)) === VM_WRITE) gup_flags |= FOLL_WRITE;
  // mlock succeeds on anything but PROT_NONE.
  if (vma.vm_flags & VM_ACCESS_FLAGS) gup_flags |= FOLL_FORCE;
  let addr = start;
  while (addr < end) {
    const r = get_user_pages_vma(m, task, vma.vm_mm, vma, addr, end, gup_flags);
    if (r < 0) return r;
    addr += r * PAGE_SIZE;
    if (r === 0) break;
  }
  return nr;
}

/**
 * __mm_populate(): populate every VMA in [start, start+len). With ignore_errors (mmap, mlockall)
 * failures are skipped; otherwise the first error is returned (mlock maps it for POSIX).
 */
export function __mm_populate(
  m: Machine,
  task: task_struct,
  start: number,
  len: number,
  ignore_errors: boolean,
): number {
  const mm = task.mm!;
  const end = start + len;
  let nstart = start;
  while (nstart < end) {
    const vma = mm.mm_mt.find(nstart);
    if (!vma || vma.vm_start >= end) break;
    const nend = Math.min(end, vma.vm_end);
    if (vma.vm_flags & (VM_IO | VM_PFNMAP)) {
      nstart = nend;
      continue;
    }
    if (nstart < vma.vm_start) nstart = vma.vm_start;
    const r = populate_vma_page_range(m, task, vma, nstart, nend);
    if (r < 0) {
      if (ignore_errors) {
        nstart = nend;
        continue;
      }
      return r;
    }
    nstart = nend;
  }
  return 0;
}

/**
 * faultin_page_range() for MADV_POPULATE_(READ|WRITE): stops at a hole (ENOMEM), refuses
 * incompatible VMAs (EINVAL) and reports SIGBUS/SIGSEGV as EFAULT. Pages before the failure stay.
 */
export function faultin_page_range(
  m: Machine,
  task: task_struct,
  start: number,
  end: number,
  write: boolean,
): number {
  const mm = task.mm!;
  const gup_flags = FOLL_MADV_POPULATE | (write ? FOLL_WRITE : 0);
  let addr = start;
  while (addr < end) {
    const vma = vma_lookup(mm, addr);
    if (!vma) return -ENOMEM;
    if (!check_vma_flags(vma, gup_flags)) return -EINVAL;
    const r = get_user_pages_vma(m, task, mm, vma, addr, Math.min(end, vma.vm_end), gup_flags);
    if (r < 0) return r;
    if (addr + r * PAGE_SIZE < Math.min(end, vma.vm_end)) return -EFAULT;
    addr += r * PAGE_SIZE;
  }
  return 0;
}
