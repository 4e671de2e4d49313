/**
 * open(2), close(2) and ftruncate(2) on the simulated namespace. Truncation drops page-cache pages
 * past the new end and unmaps them from every mapping of the file, private COW copies included
 * (truncate_pagecache -> unmap_mapping_range with even_cows).
 */
import { EACCES, EBADF, EFBIG, EINVAL, EISDIR, ENOENT } from "../abi/errno.js";
import { O_ACCMODE, O_CREAT, O_PATH, O_RDONLY, O_TRUNC, PAGE_SIZE } from "../abi/mman.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import { truncate_inode_pages } from "../mem/page_cache.js";
import type { vm_area_struct } from "../mm/types.js";
import { zap_page_range } from "../mm/zap.js";
import type { task_struct } from "../task/task.js";
import { type Inode, MAX_LFS_FILESIZE } from "./file.js";

export function sys_open(m: Machine, task: task_struct, path: string, flags: number): SysResult<number> {
  let inode = m.fs.lookup(path);
  if (!inode) {
    if (!(flags & O_CREAT)) return err(ENOENT);
    inode = m.fs.create(path, 0);
  }
  const acc = flags & O_ACCMODE;
  if (acc === 3 && !(flags & O_PATH)) return err(EINVAL);
  if (inode.kind === "directory" && acc !== O_RDONLY && !(flags & O_PATH)) return err(EISDIR);
  const file = m.fs.open(inode, flags);
  if (flags & O_TRUNC && inode.kind === "regular" && file.writable) {
    if (inode.attrs.appendOnly) return err(EACCES);
    truncate_inode(m, inode, 0);
  }
  const r = task.files.install(file);
  if (r.ok) file.f_count++;
  return r;
}

export function sys_close(task: task_struct, fd: number): SysResult<number> {
  const f = task.files.get(fd);
  if (!f) return err(EBADF);
  f.f_count--;
  return task.files.close(fd);
}

export function sys_ftruncate(m: Machine, task: task_struct, fd: number, length: number): SysResult<number> {
  const f = task.files.get(fd);
  if (!f || f.f_flags & O_PATH) return err(EBADF);
  if (length < 0) return err(EINVAL);
  if (f.inode.kind !== "regular" || !f.writable) return err(EINVAL);
  if (f.inode.attrs.appendOnly) return err(EACCES);
  if (length > MAX_LFS_FILESIZE) return err(EFBIG);
  truncate_inode(m, f.inode, length);
  return ok(0);
}

/** Set i_size; on shrink, unmap and drop the pages wholly past the new end. */
export function truncate_inode(m: Machine, inode: Inode, size: number): void {
  const old = inode.i_size;
  inode.i_size = size;
  if (size >= old) return;
  const first = Math.ceil(size / PAGE_SIZE);
  for (const v of inode.i_mmap) {
    const vma = v as vm_area_struct;
    const vmaEndIdx = vma.vm_pgoff + vma.nr_pages;
    if (vmaEndIdx <= first) continue;
    const from = vma.vm_start + Math.max(0, first - vma.vm_pgoff) * PAGE_SIZE;
    zap_page_range(m, vma.vm_mm, vma, from, vma.vm_end, false);
  }
  truncate_inode_pages(m, inode, first);
  // The file's bytes past the new end are gone, those of the partial last page included.
  for (const idx of [...inode.disk.keys()]) if (idx >= first) inode.disk.delete(idx);
  const tail = size % PAGE_SIZE;
  if (tail) {
    const last = Math.floor(size / PAGE_SIZE);
    inode.disk.get(last)?.fill(0, tail);
    const pfn = inode.i_pages.get(last);
    if (pfn !== undefined) m.frames.zero(pfn, tail, PAGE_SIZE - tail);
  }
}
