/**
 * File I/O through the page cache (mm/filemap.c): pread(2) and pwrite(2) see and change the same
 * page-cache pages that shared and not-yet-copied private mappings map, so a store through a
 * MAP_SHARED mapping is what a read of the file returns and a write to the file is what every
 * such mapping reads. Writeback copies a dirty page's bytes to the file's "disk", so a page that
 * leaves the cache later reads back what was written.
 *
 * A read marks the pages it reads accessed (folio_mark_accessed, so a page read(2) twice becomes
 * active, as a page mapped and touched twice does); a write does not. These are filemap_read's
 * rules for page-cache files; shmem objects never sit in an fd table here (no memfd or tmpfs
 * files yet), and when they do, shmem_file_read_iter's differ: a read marks a page when it starts
 * at its first byte, every time; reading a hole allocates nothing; writes mark.
 *
 * Not modelled: read-ahead on read(2) (a missing page is read alone), O_DIRECT, holes' block
 * allocation.
 */
import { EBADF, EFBIG, EINVAL, EISDIR, ENOMEM, EPERM } from "../abi/errno.js";
import { O_APPEND, O_PATH, PAGE_SIZE } from "../abi/mman.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import { PG_dirty } from "../mem/frames.js";
import { add_to_page_cache } from "../mem/page_cache.js";
import { RESERVE_OK, reserve_pages } from "../mem/vmscan.js";
import type { mm_struct } from "../mm/types.js";
import type { task_struct } from "../task/task.js";
import { type Inode, MAX_LFS_FILESIZE } from "./file.js";

/**
 * The page-cache frame of page `index`, read in from the file if it is not cached (after making
 * room for it: -1 when there is none, or the OOM killer took the caller's address space).
 */
export function filemap_get_page(m: Machine, inode: Inode, index: number, mm: mm_struct | null): number {
  let pfn = inode.i_pages.get(index);
  if (pfn === undefined) {
    if (reserve_pages(m, 1, mm) !== RESERVE_OK) return -1;
    // Reclaim may have dropped other pages, never one that is not there.
    pfn = add_to_page_cache(m, inode, index);
  }
  // The "lru" replacement policy orders pages by their last access, read or write.
  if (m.frames.lruvec.policy === "lru") m.frames.lruvec.touch(pfn);
  return pfn;
}

/**
 * Write back one page-cache page: its bytes up to i_size become the file's contents on disk (the
 * rest of a partial last page is never written). The page is clean afterwards.
 */
export function writeback_page(m: Machine, inode: Inode, index: number, pfn: number): void {
  const f = m.frames;
  f.flags[pfn]! &= ~PG_dirty;
  if (inode.mmapKind !== "page_cache") return;
  const valid = Math.min(PAGE_SIZE, inode.i_size - index * PAGE_SIZE);
  if (valid <= 0) return;
  const bytes = f.bytes(pfn);
  bytes.fill(0, valid);
  if (bytes.some((b) => b !== 0)) inode.disk.set(index, bytes);
  else inode.disk.delete(index);
}

/** pread(2): up to `len` bytes at `off`, stopping at end of file. */
export function sys_pread(
  m: Machine,
  task: task_struct,
  fd: number,
  len: number,
  off: number,
): SysResult<Uint8Array> {
  const file = task.files.get(fd);
  if (!file || file.f_flags & O_PATH || !file.readable) return err(EBADF);
  if (file.inode.kind === "directory") return err(EISDIR);
  if (off < 0 || len < 0) return err(EINVAL);
  const inode = file.inode;
  if (inode.mmapKind !== "page_cache" && inode.mmapKind !== "shmem") return ok(new Uint8Array(0));
  const n = Math.max(0, Math.min(len, inode.i_size - off));
  const out = new Uint8Array(n);
  // filemap_read(): a read that starts in the page where the previous one ended does not mark
  // that page again (a file read in small pieces marks each page once).
  const prevIndex = Math.floor((file.f_ra_prev_pos - 1) / PAGE_SIZE);
  let done = 0;
  while (done < n) {
    const pos = off + done;
    const index = Math.floor(pos / PAGE_SIZE);
    const at = pos % PAGE_SIZE;
    const k = Math.min(PAGE_SIZE - at, n - done);
    const pfn = filemap_get_page(m, inode, index, task.mm);
    // Out of memory: what was read so far, or ENOMEM.
    if (pfn < 0) {
      if (!done) return err(ENOMEM);
      break;
    }
    if (done > 0 || index !== prevIndex) m.frames.lruvec.mark_accessed(pfn, m.vm_events);
    m.frames.read(pfn, at, k, out, done);
    done += k;
  }
  if (done > 0) file.f_ra_prev_pos = off + done;
  return ok(done < n ? out.subarray(0, done) : out);
}

/**
 * pwrite(2): `data` at `off` into the page cache (pages become dirty), growing the file when it
 * ends beyond EOF. Mappings of the pages see the bytes at once.
 */
export function sys_pwrite(
  m: Machine,
  task: task_struct,
  fd: number,
  data: Uint8Array,
  off: number,
): SysResult<number> {
  const file = task.files.get(fd);
  if (!file || file.f_flags & O_PATH || !file.writable) return err(EBADF);
  if (file.inode.kind === "directory") return err(EISDIR);
  if (off < 0) return err(EINVAL);
  const inode = file.inode;
  if (inode.kind !== "regular" && inode.kind !== "shmem") return err(EINVAL);
  if (inode.attrs.appendOnly && !(file.f_flags & O_APPEND)) return err(EPERM);
  if (off + data.length > MAX_LFS_FILESIZE) return err(EFBIG);
  let done = 0;
  while (done < data.length) {
    const pos = off + done;
    const index = Math.floor(pos / PAGE_SIZE);
    const at = pos % PAGE_SIZE;
    const k = Math.min(PAGE_SIZE - at, data.length - done);
    const pfn = filemap_get_page(m, inode, index, task.mm);
    // Out of memory: a short write, or ENOMEM when nothing was written.
    if (pfn < 0) {
      if (!done) return err(ENOMEM);
      break;
    }
    m.frames.write(pfn, at, k, data, done);
    m.frames.flags[pfn]! |= PG_dirty;
    done += k;
    // generic_write_end(): i_size grows page by page (a page written back later needs it).
    if (off + done > inode.i_size) inode.i_size = off + done;
  }
  return ok(done);
}
