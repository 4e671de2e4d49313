/**
 * Workingset detection (mm/workingset.c): when a page is evicted, a shadow of it stays behind (in
 * the page cache's place for a file page, in its swap slot for an anonymous one) recording the
 * node's eviction clock, `nonresident_age`, which advances with every eviction and activation.
 * When the page is faulted back in, the distance between then and now says how much memory it
 * would have needed to stay resident: if the workingset (the active lists, and the inactive file
 * list for an anonymous page) is at least that large, the page is part of the workingset and
 * starts on the active list, instead of being evicted again before it is reused.
 */
import type { Machine } from "../machine.js";
import {
  folio_is_file_lru,
  LRU_ACTIVE_ANON,
  LRU_ACTIVE_FILE,
  LRU_INACTIVE_ANON,
  LRU_INACTIVE_FILE,
  type Lruvec,
} from "./lru.js";
import { PG_active, PG_workingset } from "./page_flags.js";

/** The aging of non-resident pages along with the LRU (evictions and activations). */
export function workingset_age_nonresident(lruvec: Lruvec, nr_pages: number): void {
  lruvec.nonresident_age += nr_pages;
}

/**
 * workingset_eviction(): the shadow a page leaves behind: the eviction clock, and whether the page
 * was part of the workingset (it had been active). Never 0 (0 is "no shadow").
 */
export function workingset_eviction(m: Machine, pfn: number): number {
  const lruvec = m.frames.lruvec;
  const eviction = lruvec.nonresident_age;
  workingset_age_nonresident(lruvec, 1);
  return (eviction + 1) * 2 + (m.frames.flags[pfn]! & PG_workingset ? 1 : 0);
}

/**
 * workingset_refault(): a page just read back in left `shadow` when it was evicted. Counts the
 * refault; when the refault distance fits in the workingset the page becomes active (onto the
 * active list), and if it had been active before, its refault is a cost of reclaiming its kind.
 */
export function workingset_refault(m: Machine, pfn: number, shadow: number): void {
  if (shadow === 0) return;
  const f = m.frames;
  const lruvec = f.lruvec;
  const e = m.vm_events;
  const file = folio_is_file_lru(f.flags[pfn]!);
  if (file) e.workingset_refault_file++;
  else e.workingset_refault_anon++;
  const eviction = Math.floor(shadow / 2) - 1;
  const workingset = (shadow & 1) === 1;
  const refault_distance = lruvec.nonresident_age - eviction;
  const nr = lruvec.nr_pages;
  // workingset_test_recent(): anonymous pages compete with the file workingset; with free swap, file
  // pages also compete with the anonymous one.
  let workingset_size = nr[LRU_ACTIVE_FILE]!;
  if (!file) workingset_size += nr[LRU_INACTIVE_FILE]!;
  if (m.swap.nr_swap_pages > 0) {
    workingset_size += nr[LRU_ACTIVE_ANON]!;
    if (file) workingset_size += nr[LRU_INACTIVE_ANON]!;
  }
  if (refault_distance > workingset_size || lruvec.policy !== "linux") return;
  f.flags[pfn]! |= PG_active;
  lruvec.move(pfn);
  workingset_age_nonresident(lruvec, 1);
  if (file) e.workingset_activate_file++;
  else e.workingset_activate_anon++;
  if (workingset) {
    f.flags[pfn]! |= PG_workingset;
    lruvec.note_cost(file, 1, 0);
    if (file) e.workingset_restore_file++;
    else e.workingset_restore_anon++;
  }
}
