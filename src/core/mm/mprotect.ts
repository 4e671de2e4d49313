/**
 * mprotect(2) (mm/mprotect.c do_mprotect_pkey, mprotect_fixup): per-VMA application in address
 * order that stops at the first hole or error, leaving earlier VMAs changed, as Linux does.
 */
import { EACCES, EINVAL, ENOMEM } from "../abi/errno.js";
import {
  PAGE_SIZE,
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_READ,
  PROT_SEM,
  PROT_WRITE,
} from "../abi/mman.js";
import { assertUlong, offsetInPage, pageAlignUlong } from "../abi/ulong.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import { PG_anon_exclusive } from "../mem/frames.js";
import { READ_IMPLIES_EXEC, type task_struct } from "../task/task.js";
import { may_expand_vm, security_vm_enough_memory, vm_stat_account, vm_unacct_memory } from "./accounting.js";
import { vma_wants_writenotify } from "./fault.js";
import { populate_vma_page_range } from "./gup.js";
import { PTE_DIRTY, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE } from "./page_table.js";
import type { mm_struct, vm_area_struct } from "./types.js";
import {
  calc_vm_prot_bits,
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_NORESERVE,
  VM_SHARED,
  VM_WRITE,
} from "./vm_flags.js";
import { vm_flags_reset, vma_modify } from "./vma.js";

/** mprotect(2). */
export function sys_mprotect(
  m: Machine,
  task: task_struct,
  start: number,
  len: number,
  prot: number,
): SysResult<number> {
  assertUlong(start, "addr");
  assertUlong(len, "len");
  // prot is an unsigned long: bits above 31 are unknown bits (EINVAL below), not truncated away.
  const high = prot < 0 || prot >= 2 ** 32;
  // (int) truncation; an integer already in [0, 2^32) is its own truncation (no BigInt per call).
  if (high || !Number.isInteger(prot)) prot = Number(BigInt.asUintN(32, BigInt(prot)));
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return err(EINVAL);
  if (offsetInPage(start)) return err(EINVAL);
  if (!len) return ok(0);
  // end = start + PAGE_ALIGN(len); end <= start (a wrap, or len rounding to 0) is ENOMEM.
  const alen = pageAlignUlong(len);
  if (alen === 0) return err(ENOMEM);
  let end: number;
  if (alen < 0 || start < 0) {
    if (alen < 0 && start < 0) return err(ENOMEM);
    const wrapped = (alen < 0 ? alen : start) + (alen < 0 ? start : alen) >= 0;
    if (wrapped) return err(ENOMEM);
    end = 2 ** 64; // far beyond TASK_SIZE: the walk below ends with ENOMEM
  } else {
    end = start + alen;
  }
  if (high || prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return err(EINVAL);
  const rier = (task.personality & READ_IMPLIES_EXEC) !== 0 && (prot & PROT_READ) !== 0;
  const mm = task.mm!;
  let vma = start < 0 ? undefined : mm.mm_mt.find(start);
  if (!vma) return err(ENOMEM);
  if (grows & PROT_GROWSDOWN) {
    if (vma.vm_start >= end) return err(ENOMEM);
    start = vma.vm_start;
    if (!(vma.vm_flags & VM_GROWSDOWN)) return err(EINVAL);
  } else {
    if (vma.vm_start > start) return err(ENOMEM);
    if (grows & PROT_GROWSUP) return err(EINVAL);
  }
  let prev: vm_area_struct | undefined = mm.mm_mt.prev(vma);
  if (start > vma.vm_start) prev = vma;
  let tmp = vma.vm_start;
  let nstart = start;
  // Walk VMAs in order; a hole ends the walk with ENOMEM, keeping the VMAs already changed.
  while (vma && vma.vm_start < end) {
    if (vma.vm_start !== tmp) return err(ENOMEM);
    // Does the application expect PROT_READ to imply PROT_EXEC?
    let newprot = prot;
    if (rier && vma.vm_flags & VM_MAYEXEC) newprot |= PROT_EXEC;
    const newflags = calc_vm_prot_bits(newprot) | (vma.vm_flags & ~VM_ACCESS_FLAGS);
    // newflags >> 4 shifts VM_MAY% in place of VM_%.
    if (newflags & ~(newflags >> 4) & VM_ACCESS_FLAGS) return err(EACCES);
    const r = mprotect_fixup(m, task, mm, vma, prev, nstart, Math.min(vma.vm_end, end), newflags);
    if (r.errno) return err(r.errno);
    prev = r.vma;
    // Continue after the VMA just changed (it may have merged beyond this one).
    tmp = r.vma.vm_end;
    nstart = tmp;
    vma = mm.mm_mt.next(r.vma);
  }
  if (tmp < end) return err(ENOMEM);
  return ok(0);
}

/**
 * mprotect_fixup(): change [start, end) of vma to newflags, with commit charging for private
 * mappings that become writable and the VM_ACCOUNT drop for never-faulted ones that stop being so.
 */
export function mprotect_fixup(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  vma: vm_area_struct,
  prev: vm_area_struct | undefined,
  start: number,
  end: number,
  newflags: number,
): { errno: number; vma: vm_area_struct } {
  const oldflags = vma.vm_flags;
  const nrpages = (end - start) / PAGE_SIZE;
  if (newflags === oldflags) return { errno: 0, vma };
  let charged = 0;
  if (newflags & VM_WRITE) {
    // A private mapping becoming writable: RLIMIT_DATA, then commit charge and VM_ACCOUNT.
    if (!may_expand_vm(task, mm, newflags, nrpages) && may_expand_vm(task, mm, oldflags, nrpages)) {
      return { errno: ENOMEM, vma };
    }
    if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) {
      charged = nrpages;
      if (!security_vm_enough_memory(m, task, mm, charged)) return { errno: ENOMEM, vma };
      newflags |= VM_ACCOUNT;
    }
  } else if (oldflags & VM_ACCOUNT && vma.vm_ops === "anonymous" && !vma.anon_vma) {
    // Never-faulted anonymous memory that is no longer writable gives its charge back.
    newflags &= ~VM_ACCOUNT;
  }
  const r = vma_modify(m, mm, prev, vma, start, end, newflags);
  if (typeof r === "number") {
    if (charged) vm_unacct_memory(m, charged);
    return { errno: -r, vma };
  }
  const v = r.vma;
  if (oldflags & VM_ACCOUNT && !(newflags & VM_ACCOUNT)) vm_unacct_memory(m, nrpages);
  vm_flags_reset(v, newflags);
  change_protection(m, mm, v, start, end, newflags);
  // A private locked mapping becoming writable is COWed now, to spare major faults later.
  if ((oldflags & (VM_WRITE | VM_SHARED | VM_LOCKED)) === VM_LOCKED && newflags & VM_WRITE) {
    populate_vma_page_range(m, task, v, start, end);
  }
  vm_stat_account(mm, oldflags, -nrpages);
  vm_stat_account(mm, newflags, nrpages);
  return { errno: 0, vma: v };
}

/**
 * change_protection(): PTEs follow the new protection. Losing VM_WRITE write-protects them;
 * gaining it makes exclusive anonymous pages (private) or dirty pages (shared) writable at once,
 * so that the next write takes no fault (MM_CP_TRY_CHANGE_WRITABLE).
 */
function change_protection(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  start: number,
  end: number,
  newflags: number,
): void {
  const writable = (newflags & VM_WRITE) !== 0;
  const shared = (newflags & VM_SHARED) !== 0;
  const f = m.frames;
  const pgd = mm.pgd;
  pgd.forEach(start / PAGE_SIZE, end / PAGE_SIZE, (_vpn, slot) => {
    const bits = pgd.ent[slot]!;
    if (!(bits & PTE_PRESENT)) return;
    if (!writable) {
      pgd.ent[slot] = bits & ~PTE_WRITE;
      return;
    }
    if (bits & (PTE_WRITE | PTE_SPECIAL)) return;
    const pfn = bits >>> 8;
    // Shared: vm_page_prot is writable unless the file wants write notification, in which case
    // only dirty PTEs may skip the fault. Private: exclusive anonymous pages.
    const upgrade = shared
      ? !vma_wants_writenotify(vma) || (bits & PTE_DIRTY) !== 0
      : (f.flags[pfn]! & PG_anon_exclusive) !== 0;
    if (upgrade) pgd.ent[slot] = bits | PTE_WRITE;
  });
}
