/**
 * brk(2) (mm/mmap.c): never an errno. On any failure it returns the current break; the heap VMA
 * is grown by extending the last brk VMA or creating one, shrunk by unmapping.
 */
import { PAGE_SIZE } from "../abi/mman.js";
import { assertUlong, pageAlignUlong } from "../abi/ulong.js";
import { ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import type { task_struct } from "../task/task.js";
import { may_expand_vm, mlock_future_ok, security_vm_enough_memory } from "./accounting.js";
import { __mm_populate } from "./gup.js";
import { do_munmap } from "./mmap.js";
import { type mm_struct, vm_start_gap } from "./types.js";
import { VM_ACCOUNT, VM_DATA_DEFAULT_FLAGS, VM_LOCKED, VM_SOFTDIRTY } from "./vm_flags.js";
import { vm_area_new, vma_link, vma_merge_new_range } from "./vma.js";

/** brk(2): returns the new break, or the old one when the request cannot be met. */
export function sys_brk(m: Machine, task: task_struct, brk: number): SysResult<number> {
  assertUlong(brk, "addr");
  const mm = task.mm!;
  const origbrk = mm.brk;
  const min_brk = mm.start_brk;
  if (brk < 0 || brk < min_brk) return ok(origbrk);
  // RLIMIT_DATA covers the heap plus the data segment, for shrinking too.
  const rlim = task.rlimits.DATA;
  if (Number.isFinite(rlim) && brk - mm.start_brk + (mm.end_data - mm.start_data) > rlim) return ok(origbrk);
  const newbrk = pageAlignUlong(brk);
  const oldbrk = pageAlignUlong(mm.brk);
  if (oldbrk === newbrk) {
    mm.brk = brk;
    return ok(brk);
  }
  if (brk <= mm.brk) {
    // Shrink: unmap [newbrk, oldbrk), whatever is mapped there; fail if nothing is.
    const v = mm.mm_mt.find(newbrk);
    if (!v || v.vm_start >= oldbrk) return ok(origbrk);
    mm.brk = brk;
    if (do_munmap(m, mm, newbrk, oldbrk) < 0) {
      mm.brk = origbrk;
      return ok(origbrk);
    }
    return ok(brk);
  }
  if (newbrk > mm.task_size) return ok(origbrk);
  // Grow: leave at least one page (plus the stack guard gap) before the next mapping.
  const next = mm.mm_mt.find(oldbrk);
  if (next && newbrk + PAGE_SIZE > vm_start_gap(next, mm.stack_guard_gap)) return ok(origbrk);
  if (do_brk_flags(m, task, mm, oldbrk, newbrk - oldbrk, 0) < 0) return ok(origbrk);
  mm.brk = brk;
  if (mm.def_flags & VM_LOCKED) __mm_populate(m, task, oldbrk, newbrk - oldbrk, true);
  return ok(brk);
}

/** do_brk_flags(): extend the brk VMA that ends at addr, or map a new anonymous VMA there. */
export function do_brk_flags(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  addr: number,
  len: number,
  flags: number,
): number {
  const vm_flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT | mm.def_flags | flags;
  const pages = len / PAGE_SIZE;
  if (!may_expand_vm(task, mm, vm_flags, pages)) return -1;
  if (mm.map_count > m.profile.maxMapCount) return -1;
  if (!mlock_future_ok(task, mm, vm_flags, len)) return -1;
  if (!security_vm_enough_memory(m, task, mm, pages)) return -1;
  // The brk VMA is the one below addr but not below start_brk (never the bss).
  const after = mm.mm_mt.find(addr);
  const prev = after ? mm.mm_mt.prev(after) : mm.mm_mt.last();
  const brkvma = prev && prev.vm_end > mm.start_brk ? prev : undefined;
  let done = false;
  if (brkvma && brkvma.vm_end === addr) {
    done = !!vma_merge_new_range({
      mm,
      prev: brkvma,
      next: undefined,
      middle: undefined,
      start: addr,
      end: addr + len,
      pgoff: addr / PAGE_SIZE,
      vm_flags: vm_flags | (m.profile.softDirty ? VM_SOFTDIRTY : 0),
      file: null,
      anon_vma: null,
      just_expand: true,
    });
  }
  if (!done) {
    const vma = vm_area_new(mm, addr, addr + len, vm_flags, addr / PAGE_SIZE, null, "anonymous");
    if (m.profile.softDirty) vma.vm_flags |= VM_SOFTDIRTY;
    vma_link(mm, vma);
  }
  mm.total_vm += pages;
  mm.data_vm += pages;
  if (vm_flags & VM_LOCKED) mm.locked_vm += pages;
  return 0;
}
