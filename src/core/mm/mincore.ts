/**
 * mincore(2) (mm/mincore.c): residency per page. Anonymous memory: a present PTE (the zero page
 * counts), or a swap entry whose page is in the swap cache. File memory: the page cache, whether
 * or not this process mapped the page. The vector is filled up to the first hole, and then ENOMEM.
 */
import { EINVAL, ENOMEM } from "../abi/errno.js";
import { PAGE_SIZE, TASK_SIZE } from "../abi/mman.js";
import { assertUlong, offsetInPage } from "../abi/ulong.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import type { task_struct } from "../task/task.js";
import { PTE_GUARD, PTE_HWPOISON, PTE_PRESENT, PTE_SWAP, pte_pfn } from "./page_table.js";
import type { mm_struct, vm_area_struct } from "./types.js";
import { vma_lookup } from "./vma.js";

export interface MincoreResult {
  /** 0 or 1 per page, as far as the call got. */
  vec: Uint8Array;
}

/**
 * mincore(2). On success the whole vector; on ENOMEM after a hole, `partial` holds the entries
 * written before it (Linux writes them to the user buffer before failing).
 */
export function sys_mincore(
  m: Machine,
  task: task_struct,
  start: number,
  len: number,
): SysResult<Uint8Array> & { partial?: Uint8Array } {
  assertUlong(start, "addr");
  assertUlong(len, "length");
  if (offsetInPage(start)) return err(EINVAL);
  // access_ok(start, len): no wrap and the end within the user address space.
  if (start < 0 || len < 0 || start + len > TASK_SIZE) return err(ENOMEM);
  const pages = Math.ceil(len / PAGE_SIZE);
  const mm = task.mm!;
  // Linux copies the vector out in chunks; here it is sized by the mapped pages reachable from start
  // (up to the first hole), never by the requested length alone.
  let reachable = 0;
  for (let a = start; reachable < pages; ) {
    const v = vma_lookup(mm, a);
    if (!v) break;
    reachable = Math.min(pages, reachable + (v.vm_end - a) / PAGE_SIZE);
    a = v.vm_end;
  }
  const vec = new Uint8Array(reachable);
  let done = 0;
  let addr = start;
  while (done < pages) {
    const vma = vma_lookup(mm, addr);
    if (!vma) return { ...err(ENOMEM), partial: vec.subarray(0, done) };
    const end = Math.min(vma.vm_end, addr + (pages - done) * PAGE_SIZE);
    const n = (end - addr) / PAGE_SIZE;
    mincore_vma(m, mm, vma, addr, n, vec, done);
    done += n;
    addr = end;
  }
  return ok(vec);
}

function mincore_vma(
  m: Machine,
  mm: mm_struct,
  vma: vm_area_struct,
  addr: number,
  n: number,
  vec: Uint8Array,
  at: number,
): void {
  // Special mappings (no file, not anonymous) report everything resident.
  if (vma.vm_ops === "special") {
    vec.fill(1, at, at + n);
    return;
  }
  const inode = vma.vm_ops === "anonymous" ? null : (vma.vm_file?.inode ?? null);
  const vpn0 = addr / PAGE_SIZE;
  for (let k = 0; k < n; k++) {
    const vpn = vpn0 + k;
    const pte = mm.pgd.get(vpn);
    const bits = pte & 0xff;
    let v = 0;
    if (bits & PTE_PRESENT || bits & PTE_HWPOISON) v = 1;
    else if (bits & PTE_SWAP) v = m.swap.cache[pte_pfn(pte)] ? 1 : 0;
    else if (inode && (bits === 0 || bits & PTE_GUARD)) {
      v = inode.i_pages.has(vma.vm_pgoff + (vpn * PAGE_SIZE - vma.vm_start) / PAGE_SIZE) ? 1 : 0;
    }
    vec[at + k] = v;
  }
}
