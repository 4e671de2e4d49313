/**
 * mremap(2) (mm/mremap.c, 6.16+): in-place shrink and expand (merging with the next VMA), moves
 * with copy_vma() merging at the destination, MREMAP_FIXED, MREMAP_DONTUNMAP, and the 6.17
 * multi-VMA move when MREMAP_FIXED keeps the size.
 */
import { EAGAIN, EFAULT, EINVAL, ENOMEM } from "../abi/errno.js";
import {
  MAP_FIXED,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  TASK_SIZE,
} from "../abi/mman.js";
import { assertUlong, offsetInPage, pageAlignUlong, ulongGt } from "../abi/ulong.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import type { task_struct } from "../task/task.js";
import {
  may_expand_vm,
  mlock_future_ok,
  security_vm_enough_memory,
  vm_stat_account,
  vm_unacct_memory,
} from "./accounting.js";
import { __mm_populate } from "./gup.js";
import { mlock_vma_pages_range } from "./mlock.js";
import { do_munmap, do_vmi_munmap } from "./mmap.js";
import { get_unmapped_area } from "./mmap_layout.js";
import type { mm_struct, vm_area_struct } from "./types.js";
import {
  VM_ACCOUNT,
  VM_DONTEXPAND,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_MAYSHARE,
  VM_PFNMAP,
  VM_SHARED,
} from "./vm_flags.js";
import { anon_vma_clone, vm_area_new, vma_link, vma_lookup, vma_merge_new_range } from "./vma.js";

type RemapType = "no_resize" | "shrink" | "expand";

/** vma_remap_struct: the state of one mremap call. */
interface Vrm {
  addr: number;
  old_len: number;
  new_len: number;
  flags: number;
  new_addr: number;
  vma: vm_area_struct | undefined;
  delta: number;
  remap_type: RemapType;
  populate_expand: boolean;
  charged: number;
}

function implies_new_addr(vrm: Vrm): boolean {
  return (vrm.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
}

/** mremap(2). */
export function sys_mremap(
  m: Machine,
  task: task_struct,
  addr: number,
  old_len: number,
  new_len: number,
  flags: number,
  new_addr: number,
): SysResult<number> {
  assertUlong(addr, "old_address");
  assertUlong(old_len, "old_size");
  assertUlong(new_len, "new_size");
  assertUlong(new_addr, "new_address");
  flags = flags >>> 0;
  const vrm: Vrm = {
    addr,
    old_len: pageAlignUlong(old_len),
    new_len: pageAlignUlong(new_len),
    flags,
    new_addr,
    vma: undefined,
    delta: 0,
    remap_type: "no_resize",
    populate_expand: false,
    charged: 0,
  };
  const p = check_mremap_params(m, task.mm!, vrm);
  if (p) return err(-p);
  const mm = task.mm!;
  let res: number;
  if (vrm.flags & MREMAP_FIXED && vrm.old_len === vrm.new_len) {
    res = remap_move(m, task, mm, vrm);
  } else {
    vrm.vma = vma_lookup(mm, vrm.addr);
    res = check_prep_vma(task, mm, vrm);
    if (res === 0) res = implies_new_addr(vrm) ? mremap_to(m, task, mm, vrm) : mremap_at(m, task, mm, vrm);
  }
  if (res < 0) return err(-res);
  if (vrm.populate_expand) __mm_populate(m, task, vrm.new_addr + vrm.old_len, vrm.delta, true);
  return ok(res);
}

function vrm_overlaps(addr: number, old_len: number, new_addr: number, new_len: number): boolean {
  const u = (x: number) => BigInt.asUintN(64, BigInt(x));
  const start_old = u(addr);
  const start_new = u(new_addr);
  const end_old = BigInt.asUintN(64, start_old + (old_len === 2 ** 64 ? u(-1) + 1n : u(old_len)));
  const end_new = BigInt.asUintN(64, start_new + u(new_len));
  return end_old > start_new && end_new > start_old;
}

/** check_mremap_params(): everything that needs no VMA. */
function check_mremap_params(m: Machine, mm: mm_struct, vrm: Vrm): number {
  if (vrm.flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return -EINVAL;
  if (offsetInPage(vrm.addr)) return -EINVAL;
  if (!vrm.new_len) return -EINVAL;
  if (ulongGt(vrm.new_len, TASK_SIZE)) return -EINVAL;
  // old_len past TASK_SIZE cannot describe mapped memory; keep it huge but finite for the checks below.
  if (vrm.old_len < 0) vrm.old_len = 2 ** 64;
  if (!implies_new_addr(vrm)) return 0;
  if (ulongGt(vrm.new_addr, TASK_SIZE - vrm.new_len)) return -EINVAL;
  if (offsetInPage(vrm.new_addr)) return -EINVAL;
  if (!(vrm.flags & MREMAP_MAYMOVE)) return -EINVAL;
  if (vrm.flags & MREMAP_DONTUNMAP && vrm.old_len !== vrm.new_len) return -EINVAL;
  // The target must not overlap the source (vrm_overlaps(), in u64 arithmetic: ends may wrap).
  if (vrm_overlaps(vrm.addr, vrm.old_len, vrm.new_addr, vrm.new_len)) return -EINVAL;
  // Stay 4 maps below the limit: both ranges may split in 3 before the move.
  if (mm.map_count + 2 >= m.profile.maxMapCount - 3) return -ENOMEM;
  return 0;
}

/** check_prep_vma(): the VMA-dependent checks, in the kernel's order. */
function check_prep_vma(task: task_struct, mm: mm_struct, vrm: Vrm): number {
  const vma = vrm.vma;
  if (!vma) return -EFAULT;
  // |old_len - new_len|, as vrm_set_delta() keeps it.
  vrm.delta = Math.abs(vrm.new_len - vrm.old_len);
  vrm.remap_type = vrm.delta === 0 ? "no_resize" : vrm.old_len > vrm.new_len ? "shrink" : "expand";
  if (!implies_new_addr(vrm)) vrm.new_addr = vrm.addr;
  // Only growing or moving needs the rest.
  if (vrm.remap_type !== "expand" && !implies_new_addr(vrm)) return 0;
  const { old_len, new_len, addr } = vrm;
  // A zero old_len "duplicates" shared memory; for private memory it makes no sense.
  if (!old_len && !(vma.vm_flags & (VM_SHARED | VM_MAYSHARE))) return -EINVAL;
  if (vrm.flags & MREMAP_DONTUNMAP && vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EINVAL;
  // No remapping across VMA boundaries. A shrinking move unmaps the tail first, so only the part
  // that moves must lie inside the VMA (observed on 6.18).
  if ((vrm.remap_type === "shrink" ? new_len : old_len) > vma.vm_end - addr) return -EFAULT;
  if (new_len === old_len) return 0;
  if (vma.vm_flags & VM_LOCKED) vrm.populate_expand = new_len > old_len;
  if (vma.vm_flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EFAULT;
  if (!mlock_future_ok(task, mm, vma.vm_flags, vrm.delta)) return -EAGAIN;
  if (!may_expand_vm(task, mm, vma.vm_flags, vrm.delta / PAGE_SIZE)) return -ENOMEM;
  return 0;
}

/** mremap_at(): no new address was asked for. */
function mremap_at(m: Machine, task: task_struct, mm: mm_struct, vrm: Vrm): number {
  switch (vrm.remap_type) {
    case "no_resize":
      return vrm.addr;
    case "shrink": {
      const r = do_vmi_munmap(m, mm, vrm.addr + vrm.new_len, vrm.delta);
      return r < 0 ? r : vrm.addr;
    }
    case "expand":
      return expand_vma(m, task, mm, vrm);
  }
}

/** expand_vma(): grow in place when [addr, +old_len) ends the VMA and the space after is free. */
function expand_vma(m: Machine, task: task_struct, mm: mm_struct, vrm: Vrm): number {
  const vma = vrm.vma!;
  if (vma.vm_end - vrm.addr === vrm.old_len && vma_expandable(m, task, mm, vma, vrm.delta)) {
    const pages = vrm.delta / PAGE_SIZE;
    let charged = 0;
    if (vma.vm_flags & VM_ACCOUNT) {
      if (!security_vm_enough_memory(m, task, mm, pages)) return -ENOMEM;
      charged = pages;
    }
    // vma_merge_extend(): append the extension to vma, possibly absorbing the next VMA.
    const merged = vma_merge_new_range({
      mm,
      prev: vma,
      next: mm.mm_mt.next(vma),
      middle: undefined,
      start: vma.vm_end,
      end: vma.vm_end + vrm.delta,
      pgoff: vma.vm_pgoff + vma.nr_pages,
      vm_flags: vma.vm_flags,
      file: vma.vm_file,
      anon_vma: vma.anon_vma,
    });
    if (!merged) {
      if (charged) vm_unacct_memory(m, charged);
      return -ENOMEM;
    }
    vrm.vma = merged;
    vm_stat_account(mm, merged.vm_flags, pages);
    if (merged.vm_flags & VM_LOCKED) mm.locked_vm += pages;
    return vrm.addr;
  }
  if (!(vrm.flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const e = set_new_addr(m, task, vrm);
  if (e < 0) return e;
  return move_vma(m, task, mm, vrm);
}

/** vma_expandable(): nothing mapped in the delta, and the grown range is a valid address range. */
function vma_expandable(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  vma: vm_area_struct,
  delta: number,
): boolean {
  const end = vma.vm_end + delta;
  const n = mm.mm_mt.find(vma.vm_end);
  if (n && n.vm_start < end) return false;
  const r = get_unmapped_area(m, task, null, vma.vm_start, end - vma.vm_start, 0, MAP_FIXED);
  return r >= 0;
}

/** vrm_set_new_addr(): where the moved mapping goes (the FIXED address, or a search). */
function set_new_addr(m: Machine, task: task_struct, vrm: Vrm): number {
  const vma = vrm.vma!;
  const pgoff = vma.vm_pgoff + (vrm.addr - vma.vm_start) / PAGE_SIZE;
  const hint = implies_new_addr(vrm) ? vrm.new_addr : 0;
  let map_flags = 0;
  if (vrm.flags & MREMAP_FIXED) map_flags |= MAP_FIXED;
  if (vma.vm_flags & VM_MAYSHARE) map_flags |= MAP_SHARED;
  const r = get_unmapped_area(m, task, vma.vm_file, hint, vrm.new_len, pgoff, map_flags);
  if (r < 0) return r;
  vrm.new_addr = r;
  return 0;
}

/** mremap_to(): MREMAP_FIXED / MREMAP_DONTUNMAP. */
function mremap_to(m: Machine, task: task_struct, mm: mm_struct, vrm: Vrm): number {
  if (vrm.flags & MREMAP_FIXED) {
    const e = do_munmap(m, mm, vrm.new_addr, vrm.new_addr + vrm.new_len);
    vrm.vma = undefined;
    if (e < 0) return e;
    vrm.vma = vma_lookup(mm, vrm.addr);
    if (!vrm.vma) return -EFAULT;
  }
  if (vrm.remap_type === "shrink") {
    const e = do_vmi_munmap(m, mm, vrm.addr + vrm.new_len, vrm.delta);
    if (e < 0) return e;
    vrm.old_len = vrm.new_len;
    vrm.vma = vma_lookup(mm, vrm.addr);
  }
  if (vrm.flags & MREMAP_DONTUNMAP) {
    if (!may_expand_vm(task, mm, vrm.vma!.vm_flags, vrm.old_len / PAGE_SIZE)) return -ENOMEM;
  }
  const e = set_new_addr(m, task, vrm);
  if (e < 0) return e;
  return move_vma(m, task, mm, vrm);
}

/** move_vma(): copy the VMA to new_addr, move its page tables, then unmap the source. */
function move_vma(m: Machine, task: task_struct, mm: mm_struct, vrm: Vrm): number {
  if (mm.map_count >= m.profile.maxMapCount - 3) return -ENOMEM;
  let vma = vrm.vma!;
  // Charge: the whole new length for DONTUNMAP (the source stays), else only growth.
  if (vma.vm_flags & VM_ACCOUNT) {
    const charged =
      vrm.flags & MREMAP_DONTUNMAP
        ? vrm.new_len / PAGE_SIZE
        : vrm.new_len > vrm.old_len
          ? vrm.delta / PAGE_SIZE
          : 0;
    if (charged) {
      if (!security_vm_enough_memory(m, task, mm, charged)) return -ENOMEM;
      vrm.charged = charged;
    }
  }
  const new_pgoff = vma.vm_pgoff + (vrm.addr - vma.vm_start) / PAGE_SIZE;
  const cv = copy_vma(mm, vma, vrm.new_addr, vrm.new_len, new_pgoff);
  vma = cv.source;
  vrm.vma = vma;
  move_page_tables(mm, vrm.addr, vrm.new_addr, vrm.old_len);
  const hiwater_vm = mm.hiwater_vm;
  const pages = vrm.new_len / PAGE_SIZE;
  vm_stat_account(mm, vma.vm_flags, pages);
  if (vma.vm_flags & VM_LOCKED) mm.locked_vm += pages;
  if (vrm.flags & MREMAP_DONTUNMAP) {
    // The source stays mapped, empty and unlocked; locked_vm is left as is (6.18 keeps VM_ACCOUNT).
    const whole = vrm.addr === vma.vm_start && vrm.addr + vrm.old_len === vma.vm_end;
    if (vma.vm_flags & VM_LOCKED) {
      mm.locked_vm_skew += vma.nr_pages;
      // Pages the source still maps stop being mlocked (Linux leaves them PG_mlocked until they
      // are freed; here a page is mlocked exactly while a locked VMA maps it).
      mlock_vma_pages_range(m, mm, vma.vm_start, vma.vm_end, false);
    }
    vma.vm_flags &= ~VM_LOCKED_MASK;
    if (cv.vma !== vma && whole) {
      vma.anon_vma = null;
      vma.anon_vma_chain = [];
    }
  } else {
    unmap_source_vma(m, mm, vrm, vma);
  }
  mm.hiwater_vm = hiwater_vm;
  return vrm.new_addr;
}

/**
 * unmap_source_vma(): unmap the old range without giving back its commit charge (it moved with
 * the pages): VM_ACCOUNT is cleared for the unmap and set again on the surviving pieces.
 */
function unmap_source_vma(m: Machine, mm: mm_struct, vrm: Vrm, vma: vm_area_struct): void {
  if (vrm.old_len === 0) return;
  const accountable = (vma.vm_flags & VM_ACCOUNT) !== 0;
  const vm_start = vma.vm_start;
  const vm_end = vma.vm_end;
  if (accountable) vma.vm_flags &= ~VM_ACCOUNT;
  const r = do_munmap(m, mm, vrm.addr, vrm.addr + vrm.old_len);
  if (r < 0) {
    if (accountable) vma.vm_flags |= VM_ACCOUNT;
    return;
  }
  if (accountable) {
    const end = vrm.addr + vrm.old_len;
    if (vm_start < vrm.addr) {
      const prev = vma_lookup(mm, vrm.addr - PAGE_SIZE);
      if (prev) prev.vm_flags |= VM_ACCOUNT;
    }
    if (vm_end > end) {
      const next = vma_lookup(mm, end);
      if (next) next.vm_flags |= VM_ACCOUNT;
    }
  }
}

/**
 * copy_vma(): a VMA for [addr, addr+len) like `vma`, merged with the destination's neighbours
 * when possible. A never-faulted anonymous VMA takes the pgoff of its new address.
 */
function copy_vma(
  mm: mm_struct,
  vma: vm_area_struct,
  addr: number,
  len: number,
  pgoff: number,
): { vma: vm_area_struct; source: vm_area_struct } {
  if (vma.vm_ops === "anonymous" && !vma.anon_vma) pgoff = addr / PAGE_SIZE;
  const next = mm.mm_mt.find(addr);
  const prev = next ? mm.mm_mt.prev(next) : mm.mm_mt.last();
  const vma_start = vma.vm_start;
  const merged = vma_merge_new_range({
    mm,
    prev,
    next,
    middle: undefined,
    start: addr,
    end: addr + len,
    pgoff,
    vm_flags: vma.vm_flags,
    file: vma.vm_file,
    anon_vma: vma.anon_vma,
    copied_from: vma,
  });
  if (merged) {
    // The source may have been merged into the destination VMA.
    const source = vma_start >= merged.vm_start && vma_start < merged.vm_end ? merged : vma;
    return { vma: merged, source };
  }
  const nv = vm_area_new(mm, addr, addr + len, vma.vm_flags, pgoff, vma.vm_file, vma.vm_ops);
  nv.special = vma.special;
  anon_vma_clone(nv, vma);
  vma_link(mm, nv);
  return { vma: nv, source: vma };
}

/** move_page_tables(): PTEs move with their pages; nothing is copied or refaulted. */
function move_page_tables(mm: mm_struct, old_addr: number, new_addr: number, len: number): void {
  if (len === 0) return;
  const moved: number[] = [];
  const oldVpn = old_addr / PAGE_SIZE;
  const pgd = mm.pgd;
  pgd.forEach(oldVpn, oldVpn + len / PAGE_SIZE, (vpn, slot) => {
    moved.push(vpn - oldVpn, pgd.ent[slot]!);
    pgd.set(slot, 0);
  });
  const newVpn = new_addr / PAGE_SIZE;
  for (let k = 0; k < moved.length; k += 2) pgd.setAt(newVpn + moved[k]!, moved[k + 1]!);
}

/** remap_move(): MREMAP_FIXED without resize moves every VMA of the range, keeping the gaps. */
function remap_move(m: Machine, task: task_struct, mm: mm_struct, vrm: Vrm): number {
  const start = vrm.addr;
  const end = vrm.addr + vrm.old_len;
  let target = vrm.new_addr;
  let res = -EFAULT;
  let seen = false;
  let last_end = 0;
  for (let vma = mm.mm_mt.find(start); vma && vma.vm_start < end; ) {
    const addr = Math.max(vma.vm_start, start);
    const len = Math.min(end, vma.vm_end) - addr;
    if (!seen && start < vma.vm_start) return -EFAULT;
    const offset = seen ? vma.vm_start - last_end : 0;
    last_end = vma.vm_end;
    const multi_allowed = vma.vm_ops !== "special";
    if (!multi_allowed && (seen || end > vma.vm_end)) return -EFAULT;
    const sub: Vrm = {
      addr,
      old_len: len,
      new_len: len,
      flags: vrm.flags,
      new_addr: target + offset,
      vma,
      delta: 0,
      remap_type: "no_resize",
      populate_expand: false,
      charged: 0,
    };
    let r = check_prep_vma(task, mm, sub);
    if (r === 0) r = mremap_to(m, task, mm, sub);
    if (r < 0) return r;
    if (!seen) res = r;
    seen = true;
    target = r + len;
    // The tree changed under us: continue from the first VMA at or after the moved range's end.
    vma = mm.mm_mt.find(addr + len);
    while (vma && vma.vm_start < addr + len) vma = mm.mm_mt.next(vma);
  }
  return res;
}
