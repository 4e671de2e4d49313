/**
 * The two structures of the domain model, under the kernel's names: mm_struct (an address space)
 * and vm_area_struct (one mapping). Field comments give the invariant and who maintains it.
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { CoreEvent, VmaFact } from "../events.js";
import type { OpenFile } from "../fs/file.js";
import { VmaTree } from "../lib/vma_tree.js";
import type { AnonVma } from "./anon_vma.js";
import { PageTable } from "./page_table.js";
import { VM_GROWSDOWN, vm_get_page_prot } from "./vm_flags.js";

/** What kind of vm_operations a VMA has; decides fault handling and a few merge/mremap rules. */
export type VmOpsKind = "anonymous" | "file" | "shmem" | "special";

/** The names special mappings print in /proc/PID/maps. */
export type SpecialName = "[vvar]" | "[vvar_vclock]" | "[vdso]";

/** The chain of a VMA without anon_vma (chains are never changed in place, only replaced). */
const NO_ANON_VMAS: readonly AnonVma[] = Object.freeze([]);

export class vm_area_struct {
  /** A cached pgprot, recomputed from vm_flags by vma_set_page_prot(). */
  vm_page_prot: string;

  /**
   * anon_vma_chain: every anon_vma this VMA's anonymous pages may belong to (its own, then the
   * ancestors' for fork children). Length 1 = "singular"; a longer chain marks a fork child whose
   * pages may still be shared with the parent, which restricts merging (vma_had_uncowed_parents).
   */
  anon_vma_chain: readonly AnonVma[] = NO_ANON_VMAS;

  /** For [vdso]/[vvar]: the special mapping's name. */
  special: SpecialName | null = null;

  constructor(
    /** The address space this VMA belongs to. */
    readonly vm_mm: mm_struct,
    /** [vm_start, vm_end): page aligned, non-empty; change only through vma.ts (tree order, counters). */
    public vm_start: number,
    public vm_end: number,
    public vm_flags: number,
    /** Offset in the file in pages; for private anonymous VMAs vm_start >> PAGE_SHIFT at creation. */
    public vm_pgoff: number,
    /** The open file (struct file identity) for file and shmem mappings, null for anonymous ones. */
    public vm_file: OpenFile | null,
    /** Set lazily at the first anonymous page (anon_vma_prepare), or inherited by split/fork. */
    public anon_vma: AnonVma | null,
    public vm_ops: VmOpsKind,
  ) {
    this.vm_page_prot = vm_get_page_prot(vm_flags);
    VmaTree.prepare(this);
  }

  get nr_pages(): number {
    return (this.vm_end - this.vm_start) / PAGE_SIZE;
  }
}

/** vma_pages(): size in pages. */
export function vma_pages(vma: vm_area_struct): number {
  return (vma.vm_end - vma.vm_start) / PAGE_SIZE;
}

export function vma_set_page_prot(vma: vm_area_struct): void {
  vma.vm_page_prot = vm_get_page_prot(vma.vm_flags);
}

export function vma_is_anonymous(vma: vm_area_struct): boolean {
  return vma.vm_ops === "anonymous";
}

/** RSS counter indices (MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES). */
export const MM_FILEPAGES = 0;
export const MM_ANONPAGES = 1;
export const MM_SWAPENTS = 2;
export const MM_SHMEMPAGES = 3;
export const NR_MM_COUNTERS = 4;

/** mm->flags bits. */
export const MMF_TOPDOWN = 1 << 0;
export const MMF_HAS_PINNED = 1 << 1;
/** prctl(PR_SET_THP_DISABLE): no transparent huge pages for this mm (MADV_COLLAPSE is EINVAL). */
export const MMF_DISABLE_THP = 1 << 2;

export class mm_struct {
  /**
   * The VMA set (the seed's `mmap` list and `mm_rb` tree; a gap-tracking balanced tree here).
   * Invariant: sorted, non-overlapping, page aligned, no two neighbours that is_mergeable_vma()
   * would merge. Modify only through vma.ts, which keeps map_count and the *_vm counters.
   */
  mm_mt: VmaTree<vm_area_struct>;
  /** Last find_vma() result, with hit/miss counts (the seed's mmap_cache). */
  mmap_cache: vm_area_struct | null = null;
  mmap_cache_hits = 0;
  mmap_cache_misses = 0;

  /** get_unmapped_area policy: top-down from mmap_base, or legacy bottom-up from mmap_legacy_base. */
  get_unmapped_area: "topdown" | "bottomup" = "topdown";
  mmap_base = 0;
  mmap_legacy_base = 0;
  task_size: number;

  /** Users of the address space (tasks sharing it, plus transient users). Last mmput runs exit_mmap. */
  mm_users = 1;
  /** References to the struct itself; all users together hold one. */
  mm_count = 1;
  /** Number of VMAs; cached from mm_mt. */
  map_count = 0;

  /** Page tables (the seed's pgd). */
  readonly pgd: PageTable;
  /** rss_stat[MM_FILEPAGES..MM_SHMEMPAGES]; cached from the page tables. */
  readonly rss_stat = [0, 0, 0, 0];
  hiwater_rss = 0;
  hiwater_vm = 0;

  /** Page counts, cached from the VMA set by vm_stat_account(). */
  total_vm = 0;
  locked_vm = 0;
  /**
   * Pages Linux leaves counted in locked_vm although no VMA holds them locked any more: a
   * MREMAP_DONTUNMAP move of a locked VMA clears VM_LOCKED on the source without uncounting it.
   * validate_mm() expects locked_vm = locked pages + this.
   */
  locked_vm_skew = 0;
  pinned_vm = 0;
  shared_vm = 0;
  exec_vm = 0;
  stack_vm = 0;
  data_vm = 0;
  /** VM_* flags every new VMA gets (VM_LOCKED|VM_LOCKONFAULT after mlockall(MCL_FUTURE)). */
  def_flags = 0;

  start_code = 0;
  end_code = 0;
  start_data = 0;
  end_data = 0;
  start_brk = 0;
  /** The program break; unaligned values are stored as given. */
  brk = 0;
  start_stack = 0;
  arg_start = 0;
  arg_end = 0;
  env_start = 0;
  env_end = 0;
  /** The auxiliary vector given to the program: [type, value] pairs. */
  saved_auxv: [number, number][] = [];
  /** MMF_* bits. */
  flags = 0;
  /** The task regarded as the owner (pid), or null. */
  owner: number | null = null;
  /** The executable's open file (/proc/PID/exe), or null. */
  exe_file: OpenFile | null = null;
  /** Where VMA surgery reports splits and merges (the machine's event sink). */
  machine_events: { sink: ((e: CoreEvent) => void) | null } | null = null;

  constructor(
    /** Unique per machine (views, events). */
    readonly id: number,
    /** Bytes of stack guard gap below VM_GROWSDOWN VMAs (stack_guard_gap). */
    readonly stack_guard_gap: number,
    task_size: number,
  ) {
    this.task_size = task_size;
    this.mm_mt = new VmaTree<vm_area_struct>((v) => vm_start_gap(v, stack_guard_gap));
    this.pgd = new PageTable();
  }

  /**
   * exit_mmap()'s end: forget every VMA at once, as the kernel destroys the maple tree, instead of
   * removing them one by one. The caller has released their pages, files and counters.
   */
  drop_vmas(): void {
    const gap = this.stack_guard_gap;
    this.mm_mt = new VmaTree<vm_area_struct>((v) => vm_start_gap(v, gap));
    this.map_count = 0;
    this.mmap_cache = null;
  }

  get_mm_counter(member: number): number {
    return this.rss_stat[member]!;
  }

  get_mm_rss(): number {
    return this.rss_stat[MM_FILEPAGES]! + this.rss_stat[MM_ANONPAGES]! + this.rss_stat[MM_SHMEMPAGES]!;
  }

  /** update_hiwater_rss(): called before RSS decreases. */
  update_hiwater_rss(): void {
    const rss = this.get_mm_rss();
    if (this.hiwater_rss < rss) this.hiwater_rss = rss;
  }

  /** update_hiwater_vm(): called before total_vm decreases. */
  update_hiwater_vm(): void {
    if (this.hiwater_vm < this.total_vm) this.hiwater_vm = this.total_vm;
  }
}

/** A VMA as events report it. */
export function vma_fact(v: vm_area_struct): VmaFact {
  return {
    start: v.vm_start,
    end: v.vm_end,
    flags: v.vm_flags,
    pgoff: v.vm_pgoff,
    file: v.vm_file ? v.vm_file.inode.path : v.special,
    anon_vma: v.anon_vma ? v.anon_vma.id : null,
  };
}

/** vm_start_gap(): the lowest address a mapping below `vma` may reach (stack guard gap). */
export function vm_start_gap(vma: vm_area_struct, stack_guard_gap: number): number {
  if (!(vma.vm_flags & VM_GROWSDOWN)) return vma.vm_start;
  const s = vma.vm_start - stack_guard_gap;
  return Math.max(s, 0);
}
