/**
 * msync(2) (mm/msync.c). MS_ASYNC is a no-op on modern kernels; MS_SYNC writes back the dirty
 * page-cache pages of shared file mappings (they become clean and write-protected everywhere, so
 * the next write faults again); MS_INVALIDATE on a locked VMA is EBUSY.
 */
import { EBUSY, EINVAL, ENOMEM } from "../abi/errno.js";
import { MS_ASYNC, MS_INVALIDATE, MS_SYNC, PAGE_SIZE } from "../abi/mman.js";
import { assertUlong, offsetInPage, pageAlignUlong } from "../abi/ulong.js";
import type { Inode } from "../fs/file.js";
import { writeback_page } from "../fs/read_write.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import { PG_dirty } from "../mem/frames.js";
import type { task_struct } from "../task/task.js";
import { PTE_DIRTY, PTE_PRESENT, PTE_WRITE, pte_pfn } from "./page_table.js";
import type { vm_area_struct } from "./types.js";
import { VM_LOCKED, VM_SHARED } from "./vm_flags.js";

export function sys_msync(
  m: Machine,
  task: task_struct,
  start: number,
  len: number,
  flags: number,
): SysResult<number> {
  assertUlong(start, "addr");
  assertUlong(len, "length");
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) return err(EINVAL);
  if (offsetInPage(start)) return err(EINVAL);
  if (flags & MS_ASYNC && flags & MS_SYNC) return err(EINVAL);
  const alen = pageAlignUlong(len);
  // end < start: the range wraps.
  if (alen < 0 || start < 0) {
    const wraps = (alen < 0 && start < 0) || (alen < 0 ? alen : start) + (alen < 0 ? start : alen) >= 0;
    if (wraps) return err(ENOMEM);
  }
  if (alen === 0) return ok(0);
  const end = alen < 0 || start < 0 ? 2 ** 64 : start + alen;
  const mm = task.mm!;
  let unmapped_error = 0;
  let vma = start < 0 ? undefined : mm.mm_mt.find(start);
  for (;;) {
    if (!vma) return err(ENOMEM);
    if (start < vma.vm_start) {
      if (flags === MS_ASYNC) return err(ENOMEM);
      start = vma.vm_start;
      if (start >= end) return err(ENOMEM);
      unmapped_error = ENOMEM;
    }
    if (flags & MS_INVALIDATE && vma.vm_flags & VM_LOCKED) return err(EBUSY);
    const file = vma.vm_file;
    const stop = Math.min(end, vma.vm_end);
    if (flags & MS_SYNC && file && vma.vm_flags & VM_SHARED && file.inode.mmapKind === "page_cache") {
      const first = vma.vm_pgoff + (start - vma.vm_start) / PAGE_SIZE;
      writeback_range(m, file.inode, first, first + (stop - start) / PAGE_SIZE);
    }
    start = vma.vm_end;
    if (start >= end) break;
    vma = mm.mm_mt.find(start);
  }
  return unmapped_error ? err(unmapped_error) : ok(0);
}

/** Write back dirty pages [first, last) of a file: clean them and write-protect their PTEs (page_mkclean). */
export function writeback_range(m: Machine, inode: Inode, first: number, last: number): void {
  const f = m.frames;
  for (const [idx, pfn] of inode.i_pages) {
    if (idx < first || idx >= last) continue;
    let dirty = (f.flags[pfn]! & PG_dirty) !== 0;
    for (const v of inode.i_mmap) {
      const vma = v as vm_area_struct;
      if (idx < vma.vm_pgoff || idx >= vma.vm_pgoff + vma.nr_pages) continue;
      const vpn = vma.vm_start / PAGE_SIZE + (idx - vma.vm_pgoff);
      const pte = vma.vm_mm.pgd.get(vpn);
      if (!(pte & PTE_PRESENT) || pte_pfn(pte) !== pfn) continue;
      if (pte & PTE_DIRTY) dirty = true;
      if (vma.vm_flags & VM_SHARED) vma.vm_mm.pgd.setAt(vpn, pte & ~(PTE_DIRTY | PTE_WRITE));
    }
    if (dirty) writeback_page(m, inode, idx, pfn);
  }
}
