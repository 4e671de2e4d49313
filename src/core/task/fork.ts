/**
 * fork(2) and clone(2) (kernel/fork.c copy_process, dup_mm; mm/mmap.c dup_mmap): a child task
 * with a copy of the address space whose private anonymous pages are shared copy-on-write, or
 * (CLONE_VM) the same mm.
 */
import { EAGAIN, EINVAL, ENOMEM } from "../abi/errno.js";
import { PAGE_SIZE, PMD_SIZE } from "../abi/mman.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import { type FrameTable, PG_anon, PG_anon_exclusive } from "../mem/frames.js";
import { KSTACK_PAGES } from "../mem/page_alloc.js";
import type { SwapInfo } from "../mem/swap.js";
import { RESERVE_OK, reserve_pages } from "../mem/vmscan.js";
import { security_vm_enough_memory, vm_stat_account } from "../mm/accounting.js";
import {
  PTE_DIRTY,
  PTE_GUARD,
  PTE_HWPOISON,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  PTE_YOUNG,
} from "../mm/page_table.js";
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  type mm_struct,
  vm_area_struct,
} from "../mm/types.js";
import {
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_INIT_DEF_MASK,
  VM_LOCKED_MASK,
  VM_MAYBE_GUARD,
  VM_MAYWRITE,
  VM_MIXEDMAP,
  VM_PFNMAP,
  VM_SHARED,
  VM_WIPEONFORK,
} from "../mm/vm_flags.js";
import { vma_link_all } from "../mm/vma.js";
import { exit_mmap } from "./exit.js";
import { task_struct } from "./task.js";

/** clone(2) flags that matter for memory. */
export const CLONE_VM = 0x00000100;
export const CLONE_FS = 0x00000200;
export const CLONE_FILES = 0x00000400;
export const CLONE_SIGHAND = 0x00000800;
export const CLONE_VFORK = 0x00004000;
export const CLONE_THREAD = 0x00010000;

/** anon_vma_fork(): the child VMA gets its own anon_vma chained below the parent's. */
function anon_vma_fork(m: Machine, child: vm_area_struct, parent: vm_area_struct): void {
  if (!parent.anon_vma) return;
  const av = m.anon_vma_alloc(parent.anon_vma);
  child.anon_vma = av;
  child.anon_vma_chain = [av, ...parent.anon_vma_chain];
}

/**
 * vma_needs_copy(): only VMAs with an anon_vma (or PFN maps, or guard markers) get their PTEs
 * copied at fork; the rest refault from the page cache.
 */
function vma_needs_copy(svma: vm_area_struct): boolean {
  return !!svma.anon_vma || (svma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP | VM_MAYBE_GUARD)) !== 0;
}

/**
 * copy_page_range(): the PTEs of a VMA that vma_needs_copy(). Private writable anonymous pages
 * become write-protected in both mms and shared (copy-on-write); child PTEs are old, shared ones
 * clean. Entries are copied, never page contents.
 */
function copy_page_range(m: Machine, dst: mm_struct, src: mm_struct, svma: vm_area_struct): void {
  if (!vma_needs_copy(svma)) return;
  const cow = (svma.vm_flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
  const wp = cow ? ~PTE_WRITE : ~0;
  const childMask = ~(PTE_YOUNG | (svma.vm_flags & VM_SHARED ? PTE_DIRTY : 0));
  const fileCounter = svma.vm_file?.inode.mmapKind === "shmem" ? MM_SHMEMPAGES : MM_FILEPAGES;
  const spgd = src.pgd;
  const dpgd = dst.pgd;
  // copy_pte_range() allocates the child's PTE table wherever the parent has one over the VMA,
  // entries or not.
  for (let k = Math.floor(svma.vm_start / PMD_SIZE); k * PMD_SIZE < svma.vm_end; k++) {
    if (spgd.hasTable((k * PMD_SIZE) / PAGE_SIZE)) dpgd.tableAlloc((k * PMD_SIZE) / PAGE_SIZE);
  }
  const acc = { anon: 0, file: 0, swap: 0 };
  const blocks = spgd.blockList(svma.vm_start / PAGE_SIZE, svma.vm_end / PAGE_SIZE);
  for (let q = 0; q < blocks.length; q += 4) {
    const from = blocks[q + 2]!;
    const to = blocks[q + 3]!;
    let first = from;
    while (first < to && spgd.ent[first] === 0) first++;
    if (first === to) continue;
    // The child's block for the same addresses (pte_alloc at the first entry to copy).
    const dbase = dpgd.slotAlloc(blocks[q + 1]!) - from;
    const n = copy_pte_range(m.frames, m.swap, spgd.ent, first, to, dpgd.ent, dbase, wp, childMask, acc);
    dpgd.countNew((dbase + from) >> 6, n);
  }
  dst.rss_stat[MM_ANONPAGES]! += acc.anon;
  dst.rss_stat[fileCounter]! += acc.file;
  dst.rss_stat[MM_SWAPENTS]! += acc.swap;
}

/**
 * copy_pte_range(): the entries src[from..to) into dst[dbase + from..), write-protecting the
 * source's (wp) and masking the child's; the frames gain a reference and a mapping, anonymous ones
 * stop being exclusive. A swap entry is shared (swap_duplicate), no longer exclusive on either
 * side (copy_nonpresent_pte). Returns the entries copied; counts pages into acc.
 */
function copy_pte_range(
  f: FrameTable,
  swap: SwapInfo,
  src: Int32Array,
  from: number,
  to: number,
  dst: Int32Array,
  dbase: number,
  wp: number,
  childMask: number,
  acc: { anon: number; file: number; swap: number },
): number {
  const refcount = f._refcount;
  const mapcount = f.mapcount;
  const pflags = f.flags;
  let n = 0;
  let anon = 0;
  let file = 0;
  for (let s = from; s < to; s++) {
    let pte = src[s]!;
    if (pte === 0) continue;
    if (!(pte & (PTE_GUARD | PTE_HWPOISON | PTE_SWAP))) {
      if (!(pte & PTE_SPECIAL)) {
        const pfn = pte >>> 8;
        refcount[pfn]!++;
        mapcount[pfn]!++;
        const pf = pflags[pfn]!;
        if (pf & PG_anon) {
          pflags[pfn] = pf & ~PG_anon_exclusive;
          anon++;
        } else file++;
      }
      pte &= wp;
      src[s] = pte;
      pte &= childMask;
    } else if (pte & PTE_SWAP) {
      swap.swap_duplicate(pte >>> 8);
      pte &= ~PTE_SWP_EXCLUSIVE;
      src[s] = pte;
      acc.swap++;
    }
    dst[dbase + s] = pte;
    n++;
  }
  acc.anon += anon;
  acc.file += file;
  return n;
}

/**
 * dup_mmap(): copy every VMA but VM_DONTCOPY ones; WIPEONFORK VMAs come empty; locks are not
 * inherited. As the kernel does it: the child's tree is filled in bulk (its __mt_dup) before any
 * page table is copied, here from the child VMAs made in a first pass over the parent's.
 */
function dup_mmap(m: Machine, task: task_struct, mm: mm_struct, oldmm: mm_struct): number {
  mm.total_vm = oldmm.total_vm;
  mm.data_vm = oldmm.data_vm;
  mm.exec_vm = oldmm.exec_vm;
  mm.stack_vm = oldmm.stack_vm;
  mm.shared_vm = oldmm.shared_vm;
  let retval = 0;
  /** The copies, in address order (sized once: most VMAs are copied). */
  const vmas = new Array<vm_area_struct>(oldmm.mm_mt.size);
  let nr = 0;
  /** The parent's VMAs whose page tables are copied (most of a large address space's are not). */
  const copied: vm_area_struct[] = [];
  for (let mpnt = oldmm.mm_mt.first(); mpnt; mpnt = oldmm.mm_mt.next(mpnt)) {
    if (mpnt.vm_flags & VM_DONTCOPY) {
      vm_stat_account(mm, mpnt.vm_flags, -mpnt.nr_pages);
      continue;
    }
    if (mpnt.vm_flags & VM_ACCOUNT) {
      if (!security_vm_enough_memory(m, task, oldmm, mpnt.nr_pages)) {
        // What was copied up to here stays in the child for dup_mm() to tear down.
        retval = -ENOMEM;
        break;
      }
    }
    const tmp = new vm_area_struct(
      mm,
      mpnt.vm_start,
      mpnt.vm_end,
      mpnt.vm_flags & ~VM_LOCKED_MASK,
      mpnt.vm_pgoff,
      mpnt.vm_file,
      null,
      mpnt.vm_ops,
    );
    tmp.special = mpnt.special;
    if (!(mpnt.vm_flags & VM_WIPEONFORK)) {
      anon_vma_fork(m, tmp, mpnt);
      if (vma_needs_copy(mpnt)) copied.push(mpnt);
    }
    vmas[nr++] = tmp;
  }
  vmas.length = nr;
  vma_link_all(mm, vmas);
  for (const mpnt of copied) copy_page_range(m, mm, oldmm, mpnt);
  return retval;
}

/** dup_mm(): a new mm_struct copied from the parent's. */
function dup_mm(m: Machine, task: task_struct, oldmm: mm_struct): mm_struct | null {
  const mm = m.mm_alloc();
  mm.get_unmapped_area = oldmm.get_unmapped_area;
  mm.mmap_base = oldmm.mmap_base;
  mm.mmap_legacy_base = oldmm.mmap_legacy_base;
  mm.task_size = oldmm.task_size;
  mm.flags = oldmm.flags;
  mm.def_flags = oldmm.def_flags & VM_INIT_DEF_MASK;
  mm.start_code = oldmm.start_code;
  mm.end_code = oldmm.end_code;
  mm.start_data = oldmm.start_data;
  mm.end_data = oldmm.end_data;
  mm.start_brk = oldmm.start_brk;
  mm.brk = oldmm.brk;
  mm.start_stack = oldmm.start_stack;
  mm.arg_start = oldmm.arg_start;
  mm.arg_end = oldmm.arg_end;
  mm.env_start = oldmm.env_start;
  mm.env_end = oldmm.env_end;
  mm.saved_auxv = oldmm.saved_auxv.map((p) => [p[0], p[1]]);
  mm.exe_file = oldmm.exe_file;
  if (dup_mmap(m, task, mm, oldmm) < 0) {
    // mmput() of the half-built mm: exit_mmap() unmaps what was copied (page references, file
    // references, the charge of its VM_ACCOUNT VMAs).
    exit_mmap(m, mm);
    return null;
  }
  mm.hiwater_rss = mm.get_mm_rss();
  mm.hiwater_vm = mm.total_vm;
  return mm;
}

/**
 * copy_process() for the flags that matter here: fork (flags 0), vfork (CLONE_VM|CLONE_VFORK),
 * threads and CLONE_VM processes. Returns the child.
 */
export function do_fork(m: Machine, parent: task_struct, flags: number): SysResult<task_struct> {
  parent.assert_runnable();
  if (flags & CLONE_THREAD && !(flags & CLONE_SIGHAND)) return err(EINVAL);
  if (flags & CLONE_SIGHAND && !(flags & CLONE_VM)) return err(EINVAL);
  const oldmm = parent.mm;
  if (!oldmm) return err(EAGAIN);
  // The child's kernel stack and (without CLONE_VM) its page tables, at most as many as the
  // parent's: room for them first (reclaim, or the OOM killer, which may choose the parent).
  const need = KSTACK_PAGES + (flags & CLONE_VM ? 0 : oldmm.pgd.nr_pgtables);
  if (reserve_pages(m, need, oldmm) !== RESERVE_OK) return err(ENOMEM);
  let mm: mm_struct;
  if (flags & CLONE_VM) {
    oldmm.mm_users++;
    mm = oldmm;
  } else {
    const nm = dup_mm(m, parent, oldmm);
    if (!nm) return err(ENOMEM);
    mm = nm;
  }
  const pid = m.alloc_pid();
  const child = new task_struct(
    pid,
    flags & CLONE_THREAD ? parent.tgid : pid,
    flags & CLONE_THREAD ? parent.ppid : parent.pid,
    parent.comm,
    mm,
    flags & CLONE_FILES ? parent.files : parent.files.clone(),
    { ...parent.rlimits },
    { ...parent.caps },
  );
  child.personality = parent.personality;
  child.oom_score_adj = parent.oom_score_adj;
  child.pgid = parent.pgid;
  child.sid = parent.sid;
  if (flags & CLONE_FILES) parent.files.users++;
  if (!(flags & CLONE_VM)) mm.owner = pid;
  if (flags & CLONE_VFORK) {
    parent.state = "vfork-waiting";
    child.vfork_parent = parent.pid;
  }
  m.tasks.set(pid, child);
  m.sink?.({ type: flags & CLONE_VM ? "clone" : "fork", pid: parent.pid, mm: oldmm.id, child: pid, flags });
  if (flags & CLONE_VM)
    m.sink?.({ type: "mm_release", pid, mm: mm.id, mm_users: mm.mm_users, mm_count: mm.mm_count });
  return ok(child);
}
