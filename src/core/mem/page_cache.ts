/**
 * The page cache (mm/filemap.c): a file's pages by index in its inode's i_pages, each holding a
 * reference on its frame. A page comes in filled from the file's "disk" (a refault is told to the
 * workingset detection by the shadow its eviction left), and leaves by truncation, hole punching,
 * MADV_PAGEOUT or reclaim (which leaves a shadow). The machine knows which inodes have cached
 * pages (fs.cached), so that reclaim can go from a page to its inode.
 */
import type { Inode } from "../fs/file.js";
import type { Machine } from "../machine.js";
import { alloc_page } from "./page_alloc.js";
import { PG_swapbacked } from "./page_flags.js";
import { workingset_refault } from "./workingset.js";

/** filemap_add_folio(): a page-cache frame for index, filled from the file's contents. */
export function add_to_page_cache(m: Machine, inode: Inode, index: number): number {
  const pfn = alloc_page(m, inode.i_ino, index, inode.mmapKind === "shmem" ? PG_swapbacked : 0);
  const d = inode.disk.get(index);
  if (d) m.frames.fill(pfn, d);
  if (inode.i_pages.size === 0) m.fs.cached.set(inode.i_ino, inode);
  inode.i_pages.set(index, pfn);
  const shadow = inode.i_shadows.get(index);
  if (shadow !== undefined) {
    inode.i_shadows.delete(index);
    workingset_refault(m, pfn, shadow);
  }
  return pfn;
}

/**
 * __filemap_remove_folio(): page `index` leaves the cache (its frame loses the cache's reference),
 * leaving `shadow` in its place when reclaim evicted it (0: none).
 */
export function delete_from_page_cache(m: Machine, inode: Inode, index: number, shadow = 0): void {
  const pfn = inode.i_pages.get(index);
  if (pfn === undefined) return;
  inode.i_pages.delete(index);
  if (shadow) inode.i_shadows.set(index, shadow);
  if (inode.i_pages.size === 0) m.fs.cached.delete(inode.i_ino);
  m.frames.put_page(pfn);
}

/** truncate_inode_pages(): every page from index `first` on leaves the cache, shadows too. */
export function truncate_inode_pages(m: Machine, inode: Inode, first: number): void {
  for (const idx of [...inode.i_pages.keys()]) if (idx >= first) delete_from_page_cache(m, inode, idx);
  for (const idx of [...inode.i_shadows.keys()]) if (idx >= first) inode.i_shadows.delete(idx);
}
