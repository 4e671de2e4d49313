/**
 * mmap(2) and munmap(2) (mm/mmap.c do_mmap, mm/vma.c __mmap_region and do_vmi_munmap), with
 * Linux's check order, MAP_FIXED replacement, merging, accounting and populate.
 */
import {
  EACCES,
  EAGAIN,
  EBADF,
  EEXIST,
  EINVAL,
  ENODEV,
  ENOMEM,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
  ETXTBSY,
} from "../abi/errno.js";
import {
  LEGACY_MAP_MASK,
  MAP_ANONYMOUS,
  MAP_DROPPABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGE_MASK,
  MAP_HUGE_SHIFT,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  O_PATH,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from "../abi/mman.js";
import { assertUlong, offsetInPage, pageAlignUlong, ulongGt, ulongPages } from "../abi/ulong.js";
import { MAX_LFS_FILESIZE, type OpenFile } from "../fs/file.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import { truncate_inode_pages } from "../mem/page_cache.js";
import { READ_IMPLIES_EXEC, type task_struct } from "../task/task.js";
import {
  accountable_mapping,
  can_do_mlock,
  may_expand_vm,
  mlock_future_ok,
  security_vm_enough_memory,
  vm_stat_account,
  vm_unacct_memory,
} from "./accounting.js";
import { __mm_populate } from "./gup.js";
import { get_unmapped_area } from "./mmap_layout.js";
import type { mm_struct, VmOpsKind, vm_area_struct } from "./types.js";
import {
  calc_vm_flag_bits,
  calc_vm_prot_bits,
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_DROPPABLE,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NORESERVE,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_SPECIAL,
  VM_SYNC,
  VM_WIPEONFORK,
} from "./vm_flags.js";
import { __split_vma, vm_area_new, vma_link, vma_merge_new_range, vma_unlink } from "./vma.js";
import { free_pgtables, hole_around, zap_page_range } from "./zap.js";

/** The VMAs an unmap of [start, end) will remove, after splitting the partially covered ones. */
export interface MunmapGather {
  start: number;
  end: number;
  vmas: vm_area_struct[];
  nr_pages: number;
  nr_accounted: number;
}

/**
 * vms_gather_munmap_vmas(): split at the range ends and collect the VMAs inside [start, end).
 * vma is find_vma(start) and starts below end. A failure after the first split leaves that split
 * in place, as in Linux.
 */
export function vms_gather_munmap_vmas(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  start: number,
  end: number,
): MunmapGather | number {
  if (start > vma.vm_start) {
    // munmap may push map_count one past the limit, but not when a 3-way split needs two more.
    if (end < vma.vm_end && mm.map_count >= m.profile.maxMapCount) return -ENOMEM;
    __split_vma(mm, vma, start, true);
  }
  const g: MunmapGather = { start, end, vmas: [], nr_pages: 0, nr_accounted: 0 };
  // find_vma(start) again would return vma: the split above keeps vma as the part from start on.
  for (let next: vm_area_struct | undefined = vma; next && next.vm_start < end; next = mm.mm_mt.next(next)) {
    if (next.vm_end > end) __split_vma(mm, next, end, false);
    g.vmas.push(next);
    const n = next.nr_pages;
    g.nr_pages += n;
    if (next.vm_flags & VM_ACCOUNT) g.nr_accounted += n;
  }
  return g;
}

/** Release a file reference held by a removed VMA; a shmem object goes with its last reference. */
export function vma_fput(m: Machine, file: OpenFile | null): void {
  if (!file || file.f_count > 0) return;
  const inode = file.inode;
  if (inode.mmapKind === "shmem" && inode.unlinked) {
    truncate_inode_pages(m, inode, 0);
    if (inode.accounted) vm_unacct_memory(m, inode.accounted);
    inode.accounted = 0;
  }
}

/** remove_vma() for every gathered VMA, then the counters (vms_complete_munmap_vmas). */
export function vms_complete_munmap_vmas(m: Machine, mm: mm_struct, g: MunmapGather): void {
  if (g.vmas.length === 0) return;
  mm.update_hiwater_vm();
  for (const v of g.vmas) {
    zap_page_range(m, mm, v, v.vm_start, v.vm_end, true);
    const n = v.nr_pages;
    vm_stat_account(mm, v.vm_flags, -n);
    if (v.vm_flags & VM_LOCKED) mm.locked_vm -= n;
    vma_unlink(mm, v);
    vma_fput(m, v.vm_file);
  }
  const [floor, ceiling] = hole_around(mm, g.start);
  free_pgtables(mm, floor, ceiling);
  if (g.nr_accounted) vm_unacct_memory(m, g.nr_accounted);
}

/** do_vmi_munmap() after argument checks: unmap [start, end) (page aligned, end > start). */
export function do_munmap(m: Machine, mm: mm_struct, start: number, end: number): number {
  const vma = mm.mm_mt.find(start);
  if (!vma || vma.vm_start >= end) return 0;
  const g = vms_gather_munmap_vmas(m, mm, vma, start, end);
  if (typeof g === "number") return g;
  vms_complete_munmap_vmas(m, mm, g);
  return 0;
}

/** do_vmi_munmap(): munmap's argument checks, then the unmap. Lengths are u64 (2^64 = past everything). */
export function do_vmi_munmap(m: Machine, mm: mm_struct, start: number, len: number): number {
  if (offsetInPage(start) || ulongGt(start, TASK_SIZE) || len >= 2 ** 64 || ulongGt(len, TASK_SIZE - start))
    return -EINVAL;
  const alen = pageAlignUlong(len);
  if (alen === 0) return -EINVAL;
  return do_munmap(m, mm, start, start + alen);
}

/** munmap(2). */
export function sys_munmap(m: Machine, task: task_struct, start: number, len: number): SysResult<number> {
  assertUlong(start, "addr");
  assertUlong(len, "length");
  const r = do_vmi_munmap(m, task.mm!, start, len);
  return r < 0 ? err(-r) : ok(0);
}

/** The kernel's file_mmap_ok(): offsets past MAX_LFS_FILESIZE for regular files. */
function file_mmap_ok(file: OpenFile, pgoff: number, len: number): boolean {
  if (file.inode.kind !== "regular") return true;
  const maxsize = MAX_LFS_FILESIZE;
  if (len > maxsize) return false;
  return pgoff <= Math.floor((maxsize - len) / PAGE_SIZE);
}

/** A hint at or above 2^63 (negative u64 representation): no valid hint, but not "no hint". */
const HUGE_HINT = 2 ** 64;

/** round_hint_to_min(). */
function round_hint_to_min(m: Machine, hint: number): number {
  if (hint < 0) return HUGE_HINT;
  hint -= offsetInPage(hint);
  const min = Math.max(m.profile.mmapMinAddr, m.profile.lsmMmapMinAddr);
  if (hint && hint < min) return Math.ceil(min / PAGE_SIZE) * PAGE_SIZE;
  return hint;
}

export interface MmapOutcome {
  addr: number;
  /** The VMA that now maps the range (a merged neighbour or a new VMA). */
  vma: vm_area_struct;
  merged: boolean;
  /** VMAs a MAP_FIXED mapping replaced, in address order (split parts included). */
  replaced: vm_area_struct[];
}

/**
 * mmap(2): sys_mmap -> ksys_mmap_pgoff -> do_mmap -> mmap_region, then populate.
 * Every argument is a u64 as a safe integer (see abi/ulong.ts); fd is an int.
 */
export function sys_mmap(
  m: Machine,
  task: task_struct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  fd: number,
  off: number,
): SysResult<number> {
  const r = do_mmap_syscall(m, task, addr, len, prot, flags, fd, off);
  return r.ok ? ok(r.value.addr) : r;
}

export function do_mmap_syscall(
  m: Machine,
  task: task_struct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  fd: number,
  off: number,
): SysResult<MmapOutcome> {
  assertUlong(addr, "addr");
  assertUlong(len, "length");
  assertUlong(off, "offset");
  prot = prot >>> 0;
  flags = flags >>> 0;
  if (offsetInPage(off)) return err(EINVAL);
  const pgoff = ulongPages(off);
  let file: OpenFile | null = null;
  if (!(flags & MAP_ANONYMOUS)) {
    file = task.files.get(fd | 0) ?? null;
    if (!file || file.f_flags & O_PATH) return err(EBADF);
    if (flags & MAP_HUGETLB) return err(EINVAL);
  } else if (flags & MAP_HUGETLB) {
    // Anonymous hugetlb memory comes from a hugetlbfs file. Simulated machines have no huge page
    // pool, so what can be checked is checked and the rest fails as an empty pool does (ENOMEM).
    const log = (flags >>> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    if (log !== 0 && log !== 21 && log !== 30) return err(EINVAL);
    const hsize = log === 30 ? 2 ** 30 : 2 ** 21;
    const hlen = len < 0 ? 0 : Math.ceil(len / hsize) * hsize;
    if (hlen === 0) return err(EINVAL);
    if (hlen > TASK_SIZE) return err(ENOMEM);
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
      // hugetlb_get_unmapped_area(): a fixed address must be huge-page aligned.
      if (addr < 0 || addr > TASK_SIZE - hlen) return err(ENOMEM);
      if (addr % hsize) return err(EINVAL);
    }
    // file_mmap_ok() on the hugetlbfs file, then hugetlbfs_file_mmap(): offset alignment, reservation.
    if (pgoff > Math.floor((MAX_LFS_FILESIZE - hlen) / PAGE_SIZE)) return err(EOVERFLOW);
    if (pgoff % (hsize / PAGE_SIZE)) return err(EINVAL);
    return err(ENOMEM);
  }
  const populate = { len: 0 };
  const res = do_mmap(m, task, file, addr, len, prot, flags, pgoff, populate);
  if (!res.ok) return res;
  if (populate.len) __mm_populate(m, task, res.value.addr, populate.len, true);
  return res;
}

/** do_mmap(). `populate.len` is set when the caller must fault the range in. */
export function do_mmap(
  m: Machine,
  task: task_struct,
  file: OpenFile | null,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  pgoff: number,
  populate: { len: number },
): SysResult<MmapOutcome> {
  const mm = task.mm!;
  if (len === 0) return err(EINVAL);
  if (prot & PROT_READ && task.personality & READ_IMPLIES_EXEC) {
    if (!file?.inode.attrs.noexec) prot |= PROT_EXEC;
  }
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  if (!(flags & MAP_FIXED)) addr = round_hint_to_min(m, addr);
  len = pageAlignUlong(len);
  if (len === 0) return err(ENOMEM);
  // pgoff + pages cannot wrap a 64-bit pgoff_t when both come from 64-bit byte values.
  if (mm.map_count > m.profile.maxMapCount) return err(ENOMEM);
  if (len < 0 || len > TASK_SIZE) return err(ENOMEM);
  // A FIXED address at or above 2^63 cannot fit below TASK_SIZE.
  if (addr < 0) return err(ENOMEM);
  const area = get_unmapped_area(m, task, file, addr, len, pgoff, flags);
  if (area < 0) return err(-area);
  addr = area;
  if (flags & MAP_FIXED_NOREPLACE) {
    const v = mm.mm_mt.find(addr);
    if (v && v.vm_start < addr + len) return err(EEXIST);
  }
  let vm_flags =
    calc_vm_prot_bits(prot) | calc_vm_flag_bits(flags) | mm.def_flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (flags & MAP_LOCKED && !can_do_mlock(task)) return err(EPERM);
  if (!mlock_future_ok(task, mm, vm_flags, len)) return err(EAGAIN);

  let ops: VmOpsKind = "anonymous";
  if (file) {
    const inode = file.inode;
    if (!file_mmap_ok(file, pgoff, len)) return err(EOVERFLOW);
    const type = flags & MAP_TYPE;
    if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
      // MAP_SHARED drops unknown flags for compatibility; MAP_SHARED_VALIDATE refuses them.
      if (type === MAP_SHARED) flags = (flags & LEGACY_MAP_MASK) >>> 0;
      if ((flags & ~LEGACY_MAP_MASK) >>> 0) return err(EOPNOTSUPP);
      if (prot & PROT_WRITE) {
        if (!file.writable) return err(EACCES);
        if (inode.attrs.swapfile) return err(ETXTBSY);
      }
      if (inode.attrs.appendOnly && file.writable) return err(EACCES);
      vm_flags |= VM_SHARED | VM_MAYSHARE;
      if (!file.writable) vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
    } else if (type !== MAP_PRIVATE) {
      return err(EINVAL);
    }
    if (!file.readable) return err(EACCES);
    if (inode.attrs.noexec) {
      if (vm_flags & VM_EXEC) return err(EPERM);
      vm_flags &= ~VM_MAYEXEC;
    }
    if (inode.mmapKind === "none") return err(ENODEV);
    if (vm_flags & VM_GROWSDOWN) return err(EINVAL);
    // Only DAX files support MAP_SYNC; a page-cache file's ->mmap refuses it.
    if (vm_flags & VM_SYNC && inode.mmapKind === "page_cache") return err(EOPNOTSUPP);
    ops = inode.mmapKind === "shmem" ? "shmem" : "file";
  } else {
    const type = flags & MAP_TYPE;
    if (type === MAP_SHARED) {
      if (vm_flags & VM_GROWSDOWN) return err(EINVAL);
      pgoff = 0;
      vm_flags |= VM_SHARED | VM_MAYSHARE;
    } else if (type === MAP_DROPPABLE || type === MAP_PRIVATE) {
      if (type === MAP_DROPPABLE) {
        if (flags & (MAP_LOCKED | MAP_HUGETLB)) return err(EINVAL);
        if (vm_flags & VM_GROWSDOWN) return err(EINVAL);
        vm_flags |= VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;
      }
      pgoff = addr / PAGE_SIZE;
    } else {
      return err(EINVAL);
    }
  }
  if (flags & MAP_NORESERVE && m.profile.overcommitMemory !== 2) vm_flags |= VM_NORESERVE;

  const r = mmap_region(m, task, file, addr, len, vm_flags, pgoff, ops);
  if (!r.ok) return r;
  if (r.value.vma.vm_flags & VM_LOCKED || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE)
    populate.len = len;
  return r;
}

/**
 * __mmap_region(): gather what a MAP_FIXED mapping replaces, check limits and commit charge,
 * unmap the old VMAs, then merge with a neighbour or link a new VMA.
 */
export function mmap_region(
  m: Machine,
  task: task_struct,
  file: OpenFile | null,
  addr: number,
  len: number,
  vm_flags: number,
  pgoff: number,
  ops: VmOpsKind,
): SysResult<MmapOutcome> {
  const mm = task.mm!;
  const end = addr + len;
  const pglen = len / PAGE_SIZE;
  let g: MunmapGather | null = null;
  const first = mm.mm_mt.find(addr);
  if (first && first.vm_start < end) {
    const r = vms_gather_munmap_vmas(m, mm, first, addr, end);
    if (typeof r === "number") return err(-r);
    g = r;
  }
  const replacedPages = g ? g.nr_pages : 0;
  if (!may_expand_vm(task, mm, vm_flags, pglen - replacedPages)) return err(ENOMEM);
  let charged = 0;
  if (accountable_mapping(vm_flags)) {
    charged = pglen - (g ? g.nr_accounted : 0);
    if (charged && !security_vm_enough_memory(m, task, mm, charged)) return err(ENOMEM);
    // The replaced VMAs' charge carries over to the new mapping.
    if (g) g.nr_accounted = 0;
    vm_flags |= VM_ACCOUNT;
  }
  const replaced = g ? g.vmas.slice() : [];
  if (g) vms_complete_munmap_vmas(m, mm, g);

  // shmem_zero_setup(): shared anonymous memory is a new, unlinked shmem file.
  if (!file && vm_flags & VM_SHARED) {
    const shm = m.fs.shmemZeroFile(len);
    if (!(vm_flags & VM_NORESERVE)) {
      if (!security_vm_enough_memory(m, task, mm, pglen)) {
        if (charged) vm_unacct_memory(m, charged);
        return err(ENOMEM);
      }
      shm.inode.accounted = pglen;
    }
    file = shm;
    ops = "shmem";
  } else if (file && file.inode.mmapKind === "dev_zero") {
    if (vm_flags & VM_SHARED) {
      const shm = m.fs.shmemZeroFile(len);
      if (!(vm_flags & VM_NORESERVE)) {
        if (!security_vm_enough_memory(m, task, mm, pglen)) {
          if (charged) vm_unacct_memory(m, charged);
          return err(ENOMEM);
        }
        shm.inode.accounted = pglen;
      }
      file = shm;
      ops = "shmem";
    } else {
      ops = "anonymous"; // vma_set_anonymous(): vm_file stays /dev/zero
    }
  }

  if (m.profile.softDirty) vm_flags |= VM_SOFTDIRTY;
  let vma: vm_area_struct | undefined;
  let merged = false;
  // Unless something was unmapped, the tree is as it was when `first` was found.
  const next = g ? mm.mm_mt.find(addr) : first;
  const prev = next ? mm.mm_mt.prev(next) : mm.mm_mt.last();
  if (prev || next) {
    vma = vma_merge_new_range({
      mm,
      prev,
      next,
      middle: undefined,
      start: addr,
      end,
      pgoff,
      vm_flags,
      file,
      anon_vma: null,
    });
    merged = vma !== undefined;
  }
  if (!vma) {
    vma = vm_area_new(mm, addr, end, vm_flags, pgoff, file, ops);
    vma_link(mm, vma);
  }
  vm_stat_account(mm, vma.vm_flags, pglen);
  if (vm_flags & VM_LOCKED) {
    if (vm_flags & VM_SPECIAL) vma.vm_flags &= ~VM_LOCKED_MASK;
    else mm.locked_vm += pglen;
  }
  return ok({ addr, vma, merged, replaced });
}
