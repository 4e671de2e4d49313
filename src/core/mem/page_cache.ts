/**
 * The page cache (mm/filemap.c): a file's pages by index in its inode's i_pages, each holding a
 * reference on its frame. A page comes in filled from the file's "disk" (a refault is told to the
 * workingset detection by the shadow its eviction left), and leaves by truncation, hole punching,
 * MADV_PAGEOUT or reclaim (which leaves a shadow). A shmem page has no disk: reclaim writes it to
 * swap and its place holds the slot until it is read back. The machine knows which inodes have cached
 * pages (fs.cached), so that reclaim can go from a page to its inode.
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Inode } from "../fs/file.js";
import type { Machine } from "../machine.js";
import { alloc_page } from "./page_alloc.js";
import { PG_swapbacked } from "./page_flags.js";
import { workingset_refault } from "./workingset.js";

/**
 * filemap_add_folio(): a page-cache frame for index, filled from the file's contents; for a
 * swapped-out shmem page (shmem_swapin_folio), read back from its swap slot, which is freed.
 */
export function add_to_page_cache(m: Machine, inode: Inode, index: number): number {
  const pfn = alloc_page(m, inode.i_ino, index, inode.mmapKind === "shmem" ? PG_swapbacked : 0);
  let shadow: number | undefined;
  const slot = inode.i_swap.get(index);
  if (slot !== undefined) {
    inode.i_swap.delete(index);
    if (m.swap.data[slot] === 0) m.vm_events.swpin_zero++;
    else {
      m.vm_events.pswpin++;
      m.vm_events.pgpgin += PAGE_SIZE / 1024;
    }
    shadow = m.swap.take_slot(slot, pfn) || undefined;
  } else {
    const d = inode.disk.get(index);
    if (d) m.frames.fill(pfn, d);
    if (inode.mmapKind === "page_cache") m.vm_events.pgpgin += PAGE_SIZE / 1024;
    shadow = inode.i_shadows.get(index);
    if (shadow !== undefined) inode.i_shadows.delete(index);
  }
  if (inode.i_pages.size === 0) m.fs.cached.set(inode.i_ino, inode);
  inode.i_pages.set(index, pfn);
  if (shadow !== undefined) workingset_refault(m, pfn, shadow);
  return pfn;
}

/**
 * shmem_writeout(): a shmem page leaves memory for a swap slot, which its place in the page cache
 * now holds (one swap entry); the page (unmapped, clean or not) is written there.
 */
export function shmem_writeout(m: Machine, inode: Inode, index: number, slot: number, shadow: number): void {
  m.swap.store(slot, inode.i_pages.get(index)!, shadow);
  delete_from_page_cache(m, inode, index);
  inode.i_swap.set(index, slot);
}

/** A swapped-out shmem page is dropped (truncation, hole punch, the object's release): its slot is freed. */
export function shmem_free_swap(m: Machine, inode: Inode, index: number): void {
  const slot = inode.i_swap.get(index);
  if (slot === undefined) return;
  inode.i_swap.delete(index);
  m.swap.swap_free(slot);
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

/** truncate_inode_pages(): every page from index `first` on leaves the cache (or swap), shadows too. */
export function truncate_inode_pages(m: Machine, inode: Inode, first: number): void {
  for (const idx of [...inode.i_pages.keys()]) if (idx >= first) delete_from_page_cache(m, inode, idx);
  for (const idx of [...inode.i_shadows.keys()]) if (idx >= first) inode.i_shadows.delete(idx);
  for (const idx of [...inode.i_swap.keys()]) if (idx >= first) shmem_free_swap(m, inode, idx);
}
