/**
 * Where mappings go: the mmap base chosen at exec (arch/x86/mm/mmap.c) and get_unmapped_area()
 * (mm/mmap.c, arch/x86/kernel/sys_x86_64.c), including THP alignment of large anonymous mappings.
 */
import { EINVAL, ENOMEM, EPERM } from "../abi/errno.js";
import {
  DEFAULT_MAP_WINDOW,
  MAP_32BIT,
  MAP_FIXED,
  MAP_SHARED,
  PAGE_SIZE,
  PMD_SIZE,
  TASK_SIZE,
} from "../abi/mman.js";
import { offsetInPage } from "../abi/ulong.js";
import type { OpenFile } from "../fs/file.js";
import type { Machine } from "../machine.js";
import { ADDR_COMPAT_LAYOUT, type task_struct } from "../task/task.js";
import { MMF_TOPDOWN, type mm_struct, vm_start_gap } from "./types.js";

const SIZE_128M = 128 * 1024 * 1024;
/** __STACK_RND_MASK for 64-bit tasks: 22 bits of pages (16 GiB). */
export const STACK_RND_MASK = 0x3fffff;
/** mmap64_rnd_bits (CONFIG_ARCH_MMAP_RND_BITS). */
export const MMAP_RND_BITS = 28;

function page_align(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

/** arch_rnd(): the mmap randomisation offset for a new address space. */
function arch_rnd(m: Machine, task: task_struct): number {
  if (!task.randomize(m.profile.randomizeVaSpace)) return 0;
  return (m.rng.nextLong() % 2 ** MMAP_RND_BITS) * PAGE_SIZE;
}

/** stack_maxrandom_size(). */
export function stack_maxrandom_size(m: Machine, task: task_struct): number {
  return task.randomize(m.profile.randomizeVaSpace) ? STACK_RND_MASK * PAGE_SIZE : 0;
}

/** mmap_base(): top of the top-down area, leaving room for the stack (RLIMIT_STACK). */
function mmap_base(m: Machine, task: task_struct, rnd: number, task_size: number): number {
  let gap = task.rlimits.STACK;
  const pad = stack_maxrandom_size(m, task) + m.profile.stackGuardGapPages * PAGE_SIZE;
  // Values close to RLIM_INFINITY overflow in the kernel; the addition is then skipped.
  if (Number.isFinite(gap) && gap + pad < 2 ** 64) gap += pad;
  const gap_min = SIZE_128M;
  const gap_max = Math.floor(task_size / 6) * 5;
  if (gap < gap_min) gap = gap_min;
  else if (gap > gap_max) gap = gap_max;
  return page_align(task_size - gap - rnd);
}

/** arch_pick_mmap_layout(): run at exec with the new task's rlimits and personality. */
export function arch_pick_mmap_layout(m: Machine, task: task_struct, mm: mm_struct): void {
  const legacy = (task.personality & ADDR_COMPAT_LAYOUT) !== 0 || m.profile.legacyVaLayout;
  if (legacy) mm.flags &= ~MMF_TOPDOWN;
  else mm.flags |= MMF_TOPDOWN;
  mm.get_unmapped_area = legacy ? "bottomup" : "topdown";
  const rnd = arch_rnd(m, task);
  mm.mmap_legacy_base = page_align(TASK_SIZE / 3) + rnd;
  mm.mmap_base = mmap_base(m, task, rnd, TASK_SIZE);
}

/** randomize_page(start, range): a random page-aligned address in [start, start + range). */
export function randomize_page(m: Machine, start: number, range: number): number {
  if (start % PAGE_SIZE) {
    range -= page_align(start) - start;
    start = page_align(start);
  }
  const pages = Math.floor(range / PAGE_SIZE);
  if (pages === 0) return start;
  return start + (m.rng.nextLong() % pages) * PAGE_SIZE;
}

function mmap_address_hint_valid(addr: number, len: number): boolean {
  if (TASK_SIZE - len < addr) return false;
  return addr > DEFAULT_MAP_WINDOW === addr + len > DEFAULT_MAP_WINDOW;
}

/** arch_get_unmapped_area(): bottom-up from mmap_legacy_base (or in [1G, 2G) for MAP_32BIT). */
function arch_get_unmapped_area(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  addr: number,
  len: number,
  flags: number,
): number {
  if (flags & MAP_FIXED) return addr;
  let begin: number;
  let end: number;
  if (flags & MAP_32BIT) {
    begin = 0x40000000;
    end = 0x80000000;
    if (task.randomize(m.profile.randomizeVaSpace)) begin = randomize_page(m, begin, 0x02000000);
  } else {
    begin = mm.mmap_legacy_base;
    end = TASK_SIZE;
  }
  if (len > end) return -ENOMEM;
  if (addr) {
    addr = page_align(addr);
    const vma = mm.mm_mt.find(addr);
    if (end - len >= addr && (!vma || addr + len <= vm_start_gap(vma, mm.stack_guard_gap))) return addr;
  }
  const a = mm.mm_mt.unmappedArea(len, begin, end);
  return a < 0 ? -ENOMEM : a;
}

/** arch_get_unmapped_area_topdown(): below mmap_base, falling back to bottom-up. */
function arch_get_unmapped_area_topdown(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  addr0: number,
  len: number,
  flags: number,
): number {
  let addr = addr0;
  if (len > TASK_SIZE) return -ENOMEM;
  if (flags & MAP_FIXED) return addr;
  if (!(flags & MAP_32BIT)) {
    if (addr) {
      addr -= addr % PAGE_SIZE;
      if (mmap_address_hint_valid(addr, len)) {
        const vma = mm.mm_mt.find(addr);
        if (!vma || addr + len <= vm_start_gap(vma, mm.stack_guard_gap)) return addr;
      }
    }
    const high = mm.mmap_base;
    const a = mm.mm_mt.unmappedAreaTopdown(len, PAGE_SIZE, high);
    if (a >= 0) return a;
  }
  // A failed mmap() very likely kills the application: fall back to bottom-up.
  return arch_get_unmapped_area(m, task, mm, addr0, len, flags);
}

function mm_get_unmapped_area(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  addr: number,
  len: number,
  flags: number,
): number {
  return mm.flags & MMF_TOPDOWN
    ? arch_get_unmapped_area_topdown(m, task, mm, addr, len, flags)
    : arch_get_unmapped_area(m, task, mm, addr, len, flags);
}

/** __thp_get_unmapped_area(): ask for len + 2 MiB and place the mapping on a 2 MiB boundary. */
function thp_get_unmapped_area(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  addr: number,
  len: number,
  off: number,
  flags: number,
): number {
  const size = PMD_SIZE;
  const off_end = off + len;
  const off_align = Math.ceil(off / size) * size;
  if (!(off_end <= off_align || off_end - off_align < size)) {
    const len_pad = len + size;
    const ret = mm_get_unmapped_area(m, task, mm, addr, len_pad, flags);
    if (ret >= 0) {
      if (ret === addr) return addr;
      const off_sub = (((off - ret) % size) + size) % size;
      if (mm.flags & MMF_TOPDOWN && !off_sub) return ret + size;
      return ret + off_sub;
    }
  }
  return mm_get_unmapped_area(m, task, mm, addr, len, flags);
}

/** shmem_get_unmapped_area(): shared anonymous memory is placed for PMD-sized pages when it can be. */
function shmem_get_unmapped_area(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  uaddr: number,
  len: number,
  pgoff: number,
  flags: number,
): number {
  const addr = mm_get_unmapped_area(m, task, mm, uaddr, len, flags);
  if (!m.profile.shmemThpAlign) return addr;
  if (addr < 0 || addr % PAGE_SIZE || addr > TASK_SIZE - len) return addr;
  if (len < PMD_SIZE || flags & MAP_FIXED || uaddr === addr) return addr;
  const offset = (pgoff * PAGE_SIZE) % PMD_SIZE;
  if (offset && offset + len < 2 * PMD_SIZE) return addr;
  if (addr % PMD_SIZE === offset) return addr;
  const inflated_len = len + PMD_SIZE - PAGE_SIZE;
  if (inflated_len > TASK_SIZE) return addr;
  let inflated_addr = mm_get_unmapped_area(m, task, mm, uaddr, inflated_len, flags);
  if (inflated_addr < 0 || inflated_addr % PAGE_SIZE) return addr;
  const inflated_offset = inflated_addr % PMD_SIZE;
  inflated_addr += offset - inflated_offset;
  if (inflated_offset > offset) inflated_addr += PMD_SIZE;
  if (inflated_addr > TASK_SIZE - len) return addr;
  return inflated_addr;
}

/**
 * __get_unmapped_area(): the address a new mapping of `len` bytes (page aligned) goes to, or a
 * negative errno. `addr` is the hint (already rounded by round_hint_to_min) or the MAP_FIXED address.
 */
export function get_unmapped_area(
  m: Machine,
  task: task_struct,
  file: OpenFile | null,
  addr: number,
  len: number,
  pgoff: number,
  flags: number,
): number {
  const mm = task.mm!;
  if (len > TASK_SIZE) return -ENOMEM;
  if (!file) pgoff = 0;
  let r: number;
  if (file && file.inode.mmapKind === "page_cache" && m.profile.fileThpAlign) {
    r = thp_get_unmapped_area(m, task, mm, addr, len, pgoff * PAGE_SIZE, flags);
  } else if (file?.inode.mmapKind === "shmem" || (!file && flags & MAP_SHARED)) {
    r = shmem_get_unmapped_area(m, task, mm, addr, len, pgoff, flags);
  } else if (!file && !addr && len % PMD_SIZE === 0 && m.profile.thpAlignAnon) {
    r = thp_get_unmapped_area(m, task, mm, addr, len, 0, flags);
  } else {
    r = mm_get_unmapped_area(m, task, mm, addr, len, flags);
  }
  if (r < 0) return r;
  if (r > TASK_SIZE - len) return -ENOMEM;
  if (offsetInPage(r)) return -EINVAL;
  // security_mmap_addr(): below vm.mmap_min_addr needs CAP_SYS_RAWIO.
  if (r < m.profile.mmapMinAddr && !task.caps.CAP_SYS_RAWIO) return -EPERM;
  return r;
}
