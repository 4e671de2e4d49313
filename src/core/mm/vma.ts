/**
 * VMA surgery, as mm/vma.c does it: split, the one merge predicate, merging a new range with its
 * neighbours, merging or splitting an existing range whose attributes change, and linking and
 * unlinking VMAs. Every caller (mmap, mprotect, madvise, mlock, mremap, brk) goes through here.
 */
import { ENOMEM } from "../abi/errno.js";
import { PAGE_SIZE } from "../abi/mman.js";
import type { OpenFile } from "../fs/file.js";
import type { Machine } from "../machine.js";
import type { AnonVma } from "./anon_vma.js";
import { type mm_struct, type VmOpsKind, vm_area_struct, vma_fact, vma_set_page_prot } from "./types.js";
import { VM_IGNORE_MERGE, VM_MAYBE_GUARD, VM_SPECIAL } from "./vm_flags.js";

/** Flags that a merge keeps if any of the merged VMAs had them. */
const VM_STICKY = VM_MAYBE_GUARD;

export function vma_link(mm: mm_struct, vma: vm_area_struct): void {
  mm.mm_mt.insert(vma);
  vma_linked(mm, vma);
}

/**
 * dup_mmap()'s linking of a new mm's VMAs (in address order) into its empty tree: all at once, in
 * one linear pass (VmaTree.build, where the kernel duplicates the parent's maple tree with
 * __mt_dup), then each one's map_count and file references as vma_link() adds them.
 */
export function vma_link_all(mm: mm_struct, vmas: readonly vm_area_struct[]): void {
  mm.mm_mt.build(vmas);
  for (const v of vmas) vma_linked(mm, v);
}

/** What linking a VMA that is now in the tree adds: map_count and the file's references. */
function vma_linked(mm: mm_struct, vma: vm_area_struct): void {
  mm.map_count++;
  if (vma.vm_file) {
    vma.vm_file.f_count++;
    vma.vm_file.inode.i_mmap.add(vma);
  }
}

/** Remove a VMA from the tree (its pages must already be unmapped). */
export function vma_unlink(mm: mm_struct, vma: vm_area_struct): void {
  mm.mm_mt.remove(vma);
  mm.map_count--;
  if (mm.mmap_cache === vma) mm.mmap_cache = null;
  if (vma.vm_file) {
    vma.vm_file.f_count--;
    vma.vm_file.inode.i_mmap.delete(vma);
  }
}

/** find_vma(): the first VMA with vm_end > addr, through the one-entry cache. */
export function find_vma(mm: mm_struct, addr: number): vm_area_struct | undefined {
  const c = mm.mmap_cache;
  if (c) {
    // c.vm_start <= addr < c.vm_end, tested without branching on which side of vm_start addr is
    // (a coin toss for random addresses: a mispredicted branch on every other miss). For integer
    // addresses (callers pass safe integers) the arithmetic is exact wherever it decides, near the
    // VMA; where it rounds, addr is far outside it either way.
    const s = c.vm_start;
    const e = c.vm_end;
    if (Math.abs(2 * (addr - s) - (e - s)) <= e - s && addr < e) {
      mm.mmap_cache_hits++;
      return c;
    }
  }
  mm.mmap_cache_misses++;
  const v = mm.mm_mt.find(addr);
  if (v) mm.mmap_cache = v;
  return v;
}

/** vma_lookup(): the VMA containing addr. */
export function vma_lookup(mm: mm_struct, addr: number): vm_area_struct | undefined {
  const v = find_vma(mm, addr);
  return v && v.vm_start <= addr ? v : undefined;
}

/** anon_vma_clone(): dst joins every anon_vma src is on. */
export function anon_vma_clone(dst: vm_area_struct, src: vm_area_struct): void {
  dst.anon_vma = src.anon_vma;
  // Chains are immutable: the copy can share the array.
  dst.anon_vma_chain = src.anon_vma_chain;
}

/** vma_had_uncowed_parents(): a fork child whose anonymous pages may still be shared. */
export function vma_had_uncowed_parents(vma: vm_area_struct | null | undefined): boolean {
  return !!vma && !!vma.anon_vma && vma.anon_vma_chain.length > 1;
}

/**
 * __split_vma(): split `vma` at addr. The part below addr becomes a new VMA when new_below,
 * else the part above. Both halves keep the anon_vma. No map_count check (see split_vma).
 */
export function __split_vma(
  mm: mm_struct,
  vma: vm_area_struct,
  addr: number,
  new_below: boolean,
): vm_area_struct {
  const nw = new vm_area_struct(
    mm,
    vma.vm_start,
    vma.vm_end,
    vma.vm_flags,
    vma.vm_pgoff,
    vma.vm_file,
    null,
    vma.vm_ops,
  );
  nw.special = vma.special;
  anon_vma_clone(nw, vma);
  if (new_below) {
    nw.vm_end = addr;
    vma.vm_pgoff += (addr - vma.vm_start) / PAGE_SIZE;
    vma.vm_start = addr;
  } else {
    nw.vm_start = addr;
    nw.vm_pgoff += (addr - vma.vm_start) / PAGE_SIZE;
    vma.vm_end = addr;
  }
  // vma_iter_store(): nw takes over the range vma gave up, in one tree step.
  mm.mm_mt.splitInsert(vma, nw);
  vma_linked(mm, nw);
  const sink = mm.machine_events?.sink;
  if (sink)
    sink({ type: "vma_split", pid: mm.owner ?? 0, mm: mm.id, vma: vma_fact(new_below ? nw : vma), at: addr });
  return nw;
}

function report_merge(mm: mm_struct, into: vm_area_struct, removed: number): void {
  const sink = mm.machine_events?.sink;
  if (sink) sink({ type: "vma_merge", pid: mm.owner ?? 0, mm: mm.id, into: vma_fact(into), removed });
}

/** split_vma(): __split_vma() unless the mm is at vm.max_map_count (ENOMEM). */
export function split_vma(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  addr: number,
  new_below: boolean,
): number {
  if (mm.map_count >= m.profile.maxMapCount) return -ENOMEM;
  __split_vma(mm, vma, addr, new_below);
  return 0;
}

/** The proposed range of a merge: vma_merge_struct. */
export interface VmaMergeState {
  mm: mm_struct;
  prev: vm_area_struct | undefined;
  next: vm_area_struct | undefined;
  /** The existing VMA being modified (existing-range merges), else undefined. */
  middle: vm_area_struct | undefined;
  start: number;
  end: number;
  pgoff: number;
  vm_flags: number;
  file: OpenFile | null;
  anon_vma: AnonVma | null;
  /** mremap: the VMA the new range is copied from. */
  copied_from?: vm_area_struct | undefined;
  /** brk: only extend prev. */
  just_expand?: boolean;
}

/** is_mergeable_vma(): flags (but the ignored ones), file identity. */
function is_mergeable_vma(vmg: VmaMergeState, tgt: vm_area_struct): boolean {
  if ((tgt.vm_flags ^ vmg.vm_flags) & ~VM_IGNORE_MERGE) return false;
  if (tgt.vm_file !== vmg.file) return false;
  return true;
}

/** is_mergeable_anon_vma(): the anon_vma rules, including fork children. */
function is_mergeable_anon_vma(vmg: VmaMergeState, tgt: vm_area_struct): boolean {
  const tgt_anon = tgt.anon_vma;
  const src_anon = vmg.anon_vma;
  if (!tgt_anon && src_anon) {
    if (vma_had_uncowed_parents(vmg.middle)) return false;
    if (vma_had_uncowed_parents(vmg.copied_from)) return false;
    return true;
  }
  if (tgt_anon && !src_anon) return !vma_had_uncowed_parents(tgt);
  return src_anon === tgt_anon;
}

/** can_vma_merge_after(): the range can be appended to prev. */
function can_vma_merge_after(vmg: VmaMergeState): boolean {
  const prev = vmg.prev!;
  return (
    is_mergeable_vma(vmg, prev) &&
    is_mergeable_anon_vma(vmg, prev) &&
    prev.vm_pgoff + (prev.vm_end - prev.vm_start) / PAGE_SIZE === vmg.pgoff
  );
}

/** can_vma_merge_before(): the range can be prepended to next. */
function can_vma_merge_before(vmg: VmaMergeState): boolean {
  const next = vmg.next!;
  return (
    is_mergeable_vma(vmg, next) &&
    is_mergeable_anon_vma(vmg, next) &&
    next.vm_pgoff === vmg.pgoff + (vmg.end - vmg.start) / PAGE_SIZE
  );
}

function can_vma_merge_left(vmg: VmaMergeState): boolean {
  return !!vmg.prev && vmg.prev.vm_end === vmg.start && can_vma_merge_after(vmg);
}

function can_vma_merge_right(vmg: VmaMergeState, can_merge_left: boolean): boolean {
  const next = vmg.next;
  if (!next || vmg.end !== next.vm_start || !can_vma_merge_before(vmg)) return false;
  if (!can_merge_left) return true;
  // Mergeable with each side does not make prev and next compatible with each other.
  const prev = vmg.prev!;
  return !prev.anon_vma || !next.anon_vma || prev.anon_vma === next.anon_vma;
}

/** dup_anon_vma(): dst takes src's anon_vma when it has none. */
function dup_anon_vma(dst: vm_area_struct, src: vm_area_struct): void {
  if (src.anon_vma && !dst.anon_vma) anon_vma_clone(dst, src);
}

function set_start(mm: mm_struct, v: vm_area_struct, start: number, pgoff: number): void {
  v.vm_start = start;
  v.vm_pgoff = pgoff;
  mm.mm_mt.update(v);
}

function set_end(mm: mm_struct, v: vm_area_struct, end: number): void {
  v.vm_end = end;
  mm.mm_mt.update(v);
}

/** Callbacks for facts the event stream reports. */
export interface MergeObserver {
  merged?(target: vm_area_struct, removed: vm_area_struct[]): void;
}

/**
 * vma_merge_new_range(): place the new range [start, end) by extending prev and/or next.
 * Returns the VMA now covering the range, or undefined when nothing could merge.
 */
export function vma_merge_new_range(vmg: VmaMergeState): vm_area_struct | undefined {
  const { prev, next, mm } = vmg;
  if (vmg.vm_flags & VM_SPECIAL || (!prev && !next)) return undefined;
  const can_merge_left = can_vma_merge_left(vmg);
  const can_merge_right = !vmg.just_expand && can_vma_merge_right(vmg, can_merge_left);
  const sticky = vmg.vm_flags & VM_STICKY;
  if (can_merge_left && can_merge_right) {
    // prev absorbs the range and next.
    const p = prev!;
    const n = next!;
    dup_anon_vma(p, n);
    p.vm_flags |= sticky | (n.vm_flags & VM_STICKY);
    vma_unlink(mm, n);
    set_end(mm, p, n.vm_end);
    report_merge(mm, p, 1);
    return p;
  }
  if (can_merge_left) {
    prev!.vm_flags |= sticky;
    set_end(mm, prev!, vmg.end);
    report_merge(mm, prev!, 0);
    return prev;
  }
  if (can_merge_right) {
    next!.vm_flags |= sticky;
    set_start(mm, next!, vmg.start, vmg.pgoff);
    report_merge(mm, next!, 0);
    return next;
  }
  return undefined;
}

/**
 * vma_merge_existing_range(): [start, end) of `middle` is getting vmg.vm_flags (and the rest of
 * vmg). Merge it into prev and/or next when they are compatible; undefined when no merge applies.
 */
export function vma_merge_existing_range(vmg: VmaMergeState): vm_area_struct | undefined {
  const { mm, start, end } = vmg;
  const middle = vmg.middle!;
  const prev = vmg.prev;
  const left_side = start === middle.vm_start;
  const right_side = end === middle.vm_end;
  if (vmg.vm_flags & VM_SPECIAL || (!left_side && !right_side)) return undefined;
  const merge_left = left_side ? can_vma_merge_left(vmg) : false;
  let next: vm_area_struct | undefined;
  let merge_right = false;
  if (right_side) {
    next = vmg.next = mm.mm_mt.next(middle);
    merge_right = can_vma_merge_right(vmg, merge_left);
  }
  if (!merge_left && !merge_right) return undefined;
  const remove_middle = left_side && right_side;
  const sticky = middle.vm_flags & VM_STICKY;

  if (merge_left && merge_right) {
    const p = prev!;
    const n = next!;
    dup_anon_vma(p, n.anon_vma ? n : middle);
    p.vm_flags |= sticky | (n.vm_flags & VM_STICKY);
    vma_unlink(mm, middle);
    vma_unlink(mm, n);
    set_end(mm, p, n.vm_end);
    report_merge(mm, p, 2);
    return p;
  }
  if (merge_left) {
    const p = prev!;
    dup_anon_vma(p, middle);
    p.vm_flags |= sticky;
    if (remove_middle) {
      vma_unlink(mm, middle);
      set_end(mm, p, end);
    } else {
      // Shrink middle from below first so the tree never holds an overlap.
      set_start(mm, middle, end, middle.vm_pgoff + (end - middle.vm_start) / PAGE_SIZE);
      set_end(mm, p, end);
    }
    report_merge(mm, p, remove_middle ? 1 : 0);
    return p;
  }
  // merge_right
  const n = next!;
  dup_anon_vma(n, middle);
  n.vm_flags |= sticky;
  const pglen = (end - start) / PAGE_SIZE;
  if (remove_middle) {
    vma_unlink(mm, middle);
    set_start(mm, n, start, n.vm_pgoff - pglen);
  } else {
    set_end(mm, middle, start);
    set_start(mm, n, start, n.vm_pgoff - pglen);
  }
  report_merge(mm, n, remove_middle ? 1 : 0);
  return n;
}

/**
 * vma_modify(): give [start, end) of `vma` new attributes: merge with a neighbour if possible,
 * otherwise split off the parts outside the range. Returns the VMA that now is exactly
 * [start, end) (the caller then sets its flags), a merged VMA, or a negative errno.
 */
export function vma_modify(
  m: Machine,
  mm: mm_struct,
  prev: vm_area_struct | undefined,
  vma: vm_area_struct,
  start: number,
  end: number,
  vm_flags: number,
): { vma: vm_area_struct; merged: boolean } | number {
  const vmg: VmaMergeState = {
    mm,
    prev,
    next: undefined,
    middle: vma,
    start,
    end,
    pgoff: vma.vm_pgoff + (start - vma.vm_start) / PAGE_SIZE,
    vm_flags,
    file: vma.vm_file,
    anon_vma: vma.anon_vma,
  };
  const merged = vma_merge_existing_range(vmg);
  if (merged) return { vma: merged, merged: true };
  if (vma.vm_start < start) {
    const e = split_vma(m, mm, vma, start, true);
    if (e) return e;
  }
  if (vma.vm_end > end) {
    const e = split_vma(m, mm, vma, end, false);
    if (e) return e;
  }
  return { vma, merged: false };
}

/** Set a VMA's flags (after vma_modify) and its cached page protection; sticky flags stay. */
export function vm_flags_reset(vma: vm_area_struct, flags: number): void {
  vma.vm_flags = flags | (vma.vm_flags & VM_STICKY);
  vma_set_page_prot(vma);
}

/** vm_area_alloc() + fields: a new, unlinked VMA. */
export function vm_area_new(
  mm: mm_struct,
  start: number,
  end: number,
  flags: number,
  pgoff: number,
  file: OpenFile | null,
  ops: VmOpsKind,
): vm_area_struct {
  return new vm_area_struct(mm, start, end, flags, pgoff, file, null, ops);
}
