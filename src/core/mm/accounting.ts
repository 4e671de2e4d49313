/**
 * Address-space accounting: the *_vm counters (vm_stat_account), RLIMIT_AS/RLIMIT_DATA
 * (may_expand_vm), RLIMIT_MEMLOCK (can_do_mlock, mlock_future_ok) and overcommit
 * (__vm_enough_memory, Committed_AS).
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import type { task_struct } from "../task/task.js";
import type { mm_struct } from "./types.js";
import {
  is_data_mapping,
  is_exec_mapping,
  is_stack_mapping,
  VM_LOCKED,
  VM_NORESERVE,
  VM_SHARED,
  VM_WRITE,
} from "./vm_flags.js";

/** vm_stat_account(): total_vm and the exec/stack/data split; shared_vm for VM_SHARED. */
export function vm_stat_account(mm: mm_struct, flags: number, npages: number): void {
  mm.total_vm += npages;
  if (is_exec_mapping(flags)) mm.exec_vm += npages;
  else if (is_stack_mapping(flags)) mm.stack_vm += npages;
  else if (is_data_mapping(flags)) mm.data_vm += npages;
  // The kernel no longer maintains shared_vm; we keep its documented meaning for the views.
  if (flags & VM_SHARED) mm.shared_vm += npages;
}

function pages(bytes: number): number {
  return Number.isFinite(bytes) ? Math.floor(bytes / PAGE_SIZE) : Number.POSITIVE_INFINITY;
}

/** may_expand_vm(): RLIMIT_AS, and RLIMIT_DATA for data mappings (with the Valgrind exception). */
export function may_expand_vm(task: task_struct, mm: mm_struct, flags: number, npages: number): boolean {
  if (mm.total_vm + npages > pages(task.rlimits.AS)) return false;
  if (is_data_mapping(flags) && mm.data_vm + npages > pages(task.rlimits.DATA)) {
    // Valgrind sets RLIMIT_DATA to 0 and relies on the hard limit.
    if (task.rlimits.DATA === 0 && mm.data_vm + npages <= pages(task.rlimits.DATA_max)) return true;
    return false;
  }
  return true;
}

/** can_do_mlock(). */
export function can_do_mlock(task: task_struct): boolean {
  return task.rlimits.MEMLOCK !== 0 || task.caps.CAP_IPC_LOCK;
}

/** mlock_future_ok(): may `bytes` more become VM_LOCKED under RLIMIT_MEMLOCK? */
export function mlock_future_ok(task: task_struct, mm: mm_struct, flags: number, bytes: number): boolean {
  if (!(flags & VM_LOCKED) || task.caps.CAP_IPC_LOCK) return true;
  return mm.locked_vm + Math.floor(bytes / PAGE_SIZE) <= pages(task.rlimits.MEMLOCK);
}

/** accountable_mapping(): private writable mappings without MAP_NORESERVE are charged. */
export function accountable_mapping(flags: number): boolean {
  return (flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
}

/** vm_commit_limit(): CommitLimit in pages. */
export function vm_commit_limit(m: Machine): number {
  const p = m.profile;
  const allowed = p.overcommitKbytes
    ? Math.floor(p.overcommitKbytes / 4)
    : Math.floor((m.totalram_pages * p.overcommitRatio) / 100);
  return allowed + m.total_swap_pages;
}

/**
 * __vm_enough_memory(): charge `npages` to Committed_AS if the overcommit policy allows it.
 * Returns true (and keeps the charge) or false (nothing charged).
 */
export function security_vm_enough_memory(
  m: Machine,
  task: task_struct,
  mm: mm_struct | null,
  npages: number,
): boolean {
  m.vm_committed_as += npages;
  const mode = m.profile.overcommitMemory;
  if (mode === 1) return true;
  if (mode === 0) {
    if (npages > m.totalram_pages + m.total_swap_pages) {
      m.vm_committed_as -= npages;
      return false;
    }
    return true;
  }
  let allowed = vm_commit_limit(m);
  if (!task.caps.CAP_SYS_ADMIN) allowed -= Math.floor(m.profile.adminReserveKbytes / 4);
  if (mm) allowed -= Math.min(Math.floor(mm.total_vm / 32), Math.floor(m.profile.userReserveKbytes / 4));
  if (m.vm_committed_as < allowed) return true;
  m.vm_committed_as -= npages;
  return false;
}

/** vm_unacct_memory(). */
export function vm_unacct_memory(m: Machine, npages: number): void {
  m.vm_committed_as -= npages;
}
