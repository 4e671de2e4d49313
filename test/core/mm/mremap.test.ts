/**
 * mremap(2) in the style of tools/testing/vma: a picture of the window (one column per page),
 * one call, exact VMAs, then validate_mm() (done by the env on every call).
 *
 * Every expectation was measured on Linux 6.18.44 x86_64 (this machine) with raw syscall()
 * probes (/tmp/probe/mr*.c, same window W = 0x100000000000, MADV_POPULATE_WRITE as the "touch");
 * the anon pgoff column is not visible in /proc and follows from the merges the kernel made.
 * In the pictures: A/B/C = VMAs, lower case = touched (has an anon_vma and resident pages),
 * r = a read-only VMA, . = hole.
 */
import { describe, expect, it } from "vitest";
import { EAGAIN, EFAULT, EINVAL, ENOMEM } from "../../../src/core/abi/errno.js";
import {
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from "../../../src/core/abi/mman.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mincore } from "../../../src/core/mm/mincore.js";
import { sys_mmap, sys_munmap } from "../../../src/core/mm/mmap.js";
import { sys_mremap } from "../../../src/core/mm/mremap.js";
import { MM_SHMEMPAGES } from "../../../src/core/mm/types.js";
import { type Env, type EnvOptions, env, flagsAt, layout, PG, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const FIX = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const SHFIX = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
const MAY = MREMAP_MAYMOVE;
const MOVE = MREMAP_MAYMOVE | MREMAP_FIXED;
const DONT = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
/** The usual destination, 64 pages above W. */
const D = W + 64 * PG;
/** Page p of the window. */
const P = (p: number) => W + p * PG;

/** mmap [P(p), P(p+n)) with MAP_FIXED. */
function map(e: Env, p: number, n: number, prot = RW, flags = FIX): void {
  e.ok(sys_mmap(e.m, e.t, P(p), n * PG, prot, flags, -1, 0));
}

/** "Touch" n pages at P(p): MADV_POPULATE_WRITE (anon_vma + resident pages). */
function touch(e: Env, p: number, n: number): void {
  e.ok(sys_madvise(e.m, e.t, P(p), n * PG, MADV_POPULATE_WRITE));
}

function mremap(e: Env, addr: number, old_len: number, new_len: number, flags = 0, new_addr = 0) {
  return sys_mremap(e.m, e.t, addr, old_len, new_len, flags, new_addr);
}

/** mincore() of n pages at addr as a string of 0/1. */
function resident(e: Env, addr: number, n: number): string {
  return Array.from(e.ok(sys_mincore(e.m, e.t, addr, n * PG))).join("");
}

/** Build a machine whose map_count is exactly `count`: 1-page VMAs alternating PROT_NONE/READ. */
function withMapCount(e: Env, count: number): void {
  const filler = W + 0x1000 * PG;
  let i = 0;
  while (e.mm.map_count < count) {
    map(e, 0x1000 + 2 * i, 1, i % 2 ? PROT_READ : PROT_NONE);
    i++;
  }
  expect(e.mm.map_count).toBe(count);
  expect(e.mm.mm_mt.lookup(filler)).toBeDefined();
}

describe("mremap: check_mremap_params (no VMA needed), EINVAL first", () => {
  it("bad flags, unaligned addr, new_len 0 / -1 / > TASK_SIZE", () => {
    //  0123
    //  AAAA
    const e = env();
    map(e, 0, 4);
    const hole = P(100);
    e.fails(mremap(e, W, 4 * PG, 4 * PG, 8), EINVAL);
    e.fails(mremap(e, hole + 1, PG, PG, 8), EINVAL);
    e.fails(mremap(e, W, 4 * PG, 4 * PG, 0x10), EINVAL);
    e.fails(mremap(e, W + 1, PG, PG), EINVAL);
    e.fails(mremap(e, hole + 1, PG, PG), EINVAL);
    e.fails(mremap(e, W, PG, 0), EINVAL);
    e.fails(mremap(e, hole, PG, 0), EINVAL);
    // PAGE_ALIGN(-1) wraps to 0; -PG stays huge.
    e.fails(mremap(e, W, PG, -1), EINVAL);
    e.fails(mremap(e, W, PG, -PG), EINVAL);
    e.fails(mremap(e, W, PG, TASK_SIZE + 1), EINVAL);
    e.fails(mremap(e, W, PG, TASK_SIZE + PG), EINVAL);
    // new_len == TASK_SIZE passes the parameter checks and then finds no room.
    e.fails(mremap(e, P(3), PG, TASK_SIZE), ENOMEM);
    e.fails(mremap(e, P(3), PG, TASK_SIZE, MAY), ENOMEM);
    // new_len is page aligned: 1 byte is one page, so this is a no-op resize.
    expect(e.ok(mremap(e, P(3), PG, 1))).toBe(P(3));
    e.fails(mremap(e, hole, PG, 1), EFAULT);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
    expect(e.mm.total_vm).toBe(4);
  });

  it("FIXED/DONTUNMAP: new_addr range, alignment, MAYMOVE, DONTUNMAP resize, overlap — even with an unmapped source", () => {
    //  0123
    //  AAAA
    const e = env();
    map(e, 0, 4);
    const hole = P(100);
    for (const src of [W, hole]) {
      e.fails(mremap(e, src, PG, 2 * PG, MOVE, TASK_SIZE - PG), EINVAL);
      e.fails(mremap(e, src, PG, PG, MOVE, D + 1), EINVAL);
      e.fails(mremap(e, src, PG, PG, MREMAP_FIXED, D), EINVAL);
      e.fails(mremap(e, src, PG, 2 * PG, DONT), EINVAL);
    }
    e.fails(mremap(e, W, PG, PG, MOVE, -PG), EINVAL);
    e.fails(mremap(e, W, PG, PG, MREMAP_DONTUNMAP, D), EINVAL);
    // Without MREMAP_FIXED the DONTUNMAP address is only a hint, but it is still checked.
    e.fails(mremap(e, W, PG, PG, DONT, D + 1), EINVAL);
    // Overlapping source and target ranges.
    e.fails(mremap(e, W, 4 * PG, 4 * PG, MOVE, P(2)), EINVAL);
    e.fails(mremap(e, W, 2 * PG, 4 * PG, MOVE, P(-2)), EINVAL);
    e.fails(mremap(e, hole, 4 * PG, 4 * PG, MOVE, P(98)), EINVAL);
    e.fails(mremap(e, W, 4 * PG, 4 * PG, DONT, P(2)), EINVAL);
    e.fails(mremap(e, W, 4 * PG, 4 * PG, MOVE, W), EINVAL);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
  });

  it("FIXED to the last page below TASK_SIZE is fine", () => {
    const e = env();
    map(e, 0, 1);
    expect(e.ok(mremap(e, W, PG, PG, MOVE, TASK_SIZE - PG))).toBe(TASK_SIZE - PG);
    // Unfaulted: the pgoff follows the new address.
    expect(layout(e.mm, TASK_SIZE - PG)).toEqual(["0-1 rw-p 0"]);
  });
});

describe("mremap: the VMA checks (EFAULT)", () => {
  it("an unmapped source is EFAULT whatever the size or flags", () => {
    //  0123 4
    //  AAAA .
    const e = env();
    map(e, 0, 4);
    const hole = P(100);
    e.fails(mremap(e, hole, PG, PG), EFAULT);
    e.fails(mremap(e, hole, 2 * PG, PG), EFAULT);
    e.fails(mremap(e, hole, PG, 2 * PG, MAY), EFAULT);
    e.fails(mremap(e, hole, PG, PG, MOVE, D), EFAULT);
    e.fails(mremap(e, hole, PG, PG, DONT), EFAULT);
    e.fails(mremap(e, P(4), PG, PG), EFAULT);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
  });

  it("an old range crossing the VMA end: EFAULT to grow or move it, fine to leave it alone", () => {
    //  012345
    //  AAAArr
    const e = env();
    map(e, 0, 4);
    map(e, 4, 2, PROT_READ);
    e.fails(mremap(e, W, 6 * PG, 8 * PG, MAY), EFAULT);
    e.fails(mremap(e, P(2), 4 * PG, 5 * PG), EFAULT);
    e.fails(mremap(e, P(2), 4 * PG, 4 * PG, DONT), EFAULT);
    // No resize and no new address: nothing to check, the address comes back.
    expect(e.ok(mremap(e, P(2), 4 * PG, 4 * PG))).toBe(P(2));
    expect(e.ok(mremap(e, P(2), 40 * PG, 40 * PG))).toBe(P(2));
    expect(e.ok(mremap(e, P(2), 4 * PG, 4 * PG, MAY))).toBe(P(2));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "4-6 r--p 4"]);
  });

  it("FIXED with a bad source fails before the destination is unmapped (6.16+ order)", () => {
    //  012345        64..71
    //  AAAArr        rrrrrrrr
    const e = env();
    map(e, 0, 4);
    map(e, 4, 2, PROT_READ);
    map(e, 64, 8, PROT_READ);
    e.fails(mremap(e, P(2), 4 * PG, 5 * PG, MOVE, D), EFAULT);
    e.fails(mremap(e, P(100), PG, PG, MOVE, D), EFAULT);
    e.fails(mremap(e, P(100), PG, 2 * PG, MOVE, D), EFAULT);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "4-6 r--p 4", "64-72 r--p 64"]);
  });

  // check_prep_vma() sets old_len = new_len for a shrink before the "crosses the VMA end" test.
  it("FIXED shrink may cross VMA boundaries: the unmapped tail is not checked", () => {
    //  012345        64..71           84
    //  AAAArr        rrrrrrrr   ->    A
    // mremap(W+2, 4 pages, 1 page, MAYMOVE|FIXED, W+84)
    const e = env();
    map(e, 0, 4);
    map(e, 4, 2, PROT_READ);
    map(e, 64, 8, PROT_READ);
    expect(e.ok(mremap(e, P(2), 4 * PG, PG, MOVE, P(84)))).toBe(P(84));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "64-72 r--p 64", "84-85 rw-p 84"]);
    expect(e.mm.total_vm).toBe(11);
  });
});

describe("mremap: old_size 0", () => {
  it("on a private mapping: EINVAL, whatever the flags; on a hole EFAULT", () => {
    const e = env();
    map(e, 0, 4);
    e.fails(mremap(e, W, 0, 2 * PG, MAY), EINVAL);
    e.fails(mremap(e, W, 0, 2 * PG), EINVAL);
    // PAGE_ALIGN(-1) = 0
    e.fails(mremap(e, W, -1, 2 * PG, MAY), EINVAL);
    e.fails(mremap(e, W, 0, 0, MAY), EINVAL);
    e.fails(mremap(e, W, 0, 2 * PG, MOVE, D), EINVAL);
    e.fails(mremap(e, P(100), 0, 2 * PG, MAY), EFAULT);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
  });

  it("on shared anonymous memory: a second mapping of the same pages (ENOMEM without MAYMOVE)", () => {
    //  64..67 shared, page 64 resident
    //  mremap(W+65, 0, 2 pages, FIXED, W+20) and mremap(W+64, 0, 2 pages, FIXED, W+24)
    const e = env();
    map(e, 64, 4, RW, SHFIX);
    touch(e, 64, 1);
    e.fails(mremap(e, D, 0, 2 * PG), ENOMEM);
    expect(e.ok(mremap(e, P(65), 0, 2 * PG, MOVE, P(20)))).toBe(P(20));
    expect(e.ok(mremap(e, D, 0, 2 * PG, MOVE, P(24)))).toBe(P(24));
    const z = -W / PG;
    expect(layout(e.mm)).toEqual([`20-22 rw-s ${z + 1}`, `24-26 rw-s ${z}`, `64-68 rw-s ${z}`]);
    expect(flagsAt(e.mm, P(24))).toBe("rd wr sh mr mw me ms");
    // The duplicate sees the same shmem page (mincore reports page-cache residency).
    expect(resident(e, P(24), 2)).toBe("10");
    expect(resident(e, D, 4)).toBe("1000");
    expect(e.mm.total_vm).toBe(8);
    expect(e.mm.rss_stat[MM_SHMEMPAGES]).toBe(1);
  });
});

describe("mremap: shrink", () => {
  it("in place: the tail is unmapped, hiwater_vm keeps the peak", () => {
    //  0123      0
    //  aaaa  ->  a
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    expect(e.ok(mremap(e, W, 4 * PG, PG))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0 a"]);
    expect(e.mm.total_vm).toBe(1);
    expect(e.mm.data_vm).toBe(1);
    expect(e.mm.get_mm_rss()).toBe(1);
    expect(e.mm.hiwater_vm).toBe(4);
    expect(e.mm.hiwater_rss).toBe(4);
    // A half-page new_len is one page: no resize.
    expect(e.ok(mremap(e, W, PG, PG / 2, MAY))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0 a"]);
  });

  it("MAYMOVE alone shrinks in place", () => {
    const e = env();
    map(e, 0, 4);
    expect(e.ok(mremap(e, W, 4 * PG, 2 * PG, MAY))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0"]);
  });

  it("across several VMAs and holes (M4)", () => {
    //  012345      0
    //  AA.rBB  ->  A
    const e = env();
    map(e, 0, 2);
    map(e, 3, 1, PROT_READ);
    map(e, 4, 2);
    expect(e.ok(mremap(e, W, 6 * PG, PG))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0"]);
    expect(e.mm.total_vm).toBe(1);
  });

  it("an old range running into unmapped space is fine", () => {
    //  01234567
    //  A.......  mremap(W, 8 pages, 1 page) and (W, 8 pages, 2 pages)
    const e = env();
    map(e, 0, 1);
    expect(e.ok(mremap(e, W, 8 * PG, PG))).toBe(W);
    expect(e.ok(mremap(e, W, 8 * PG, 2 * PG))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0"]);
  });

  // shrink_vma() -> do_vmi_munmap(): start > TASK_SIZE or len > TASK_SIZE - start is EINVAL.
  it("an old_size reaching past TASK_SIZE: the unmap is EINVAL", () => {
    const e = env();
    map(e, 0, 4);
    e.fails(mremap(e, W, 2 ** 47, PG), EINVAL);
    e.fails(mremap(e, W, TASK_SIZE, PG), EINVAL);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
  });

  it("a locked VMA: locked_vm drops with the tail", () => {
    const e = env();
    map(e, 0, 4, RW, FIX | MAP_LOCKED);
    expect(e.mm.locked_vm).toBe(4);
    expect(e.ok(mremap(e, W, 4 * PG, 2 * PG))).toBe(W);
    expect(e.mm.locked_vm).toBe(2);
    expect(e.mm.get_mm_rss()).toBe(2);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
  });
});

describe("mremap: grow in place", () => {
  it("T16: growing up to a compatible next VMA merges the three", () => {
    //  012345      012345
    //  AA..BB  ->  AAAAAA
    const e = env();
    map(e, 0, 2);
    map(e, 4, 2);
    expect(e.ok(mremap(e, W, 2 * PG, 4 * PG))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-6 rw-p 0"]);
    expect(e.mm.total_vm).toBe(6);
  });

  it("T16 with the grown VMA touched: still merges with an untouched next", () => {
    //  aa..BB  ->  aaaaaa
    const e = env();
    map(e, 0, 2);
    map(e, 4, 2);
    touch(e, 0, 2);
    expect(e.ok(mremap(e, W, 2 * PG, 4 * PG))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-6 rw-p 0 a"]);
  });

  it("T16 with both touched: different anon_vmas, no merge", () => {
    //  aa..bb  ->  aaaabb
    const e = env();
    map(e, 0, 2);
    map(e, 4, 2);
    touch(e, 0, 2);
    touch(e, 4, 2);
    expect(e.ok(mremap(e, W, 2 * PG, 4 * PG))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a", "4-6 rw-p 4 a"]);
    expect(e.mm.get_mm_rss()).toBe(4);
  });

  it("no room without MAYMOVE: ENOMEM (also for an interior range or a blocked last page)", () => {
    //  012345      012345
    //  AA..rr  ->  AAAArr, then nothing grows
    const e = env();
    map(e, 0, 2);
    map(e, 4, 2, PROT_READ);
    expect(e.ok(mremap(e, W, 2 * PG, 4 * PG))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "4-6 r--p 4"]);
    e.fails(mremap(e, W, 4 * PG, 5 * PG), ENOMEM);
    e.fails(mremap(e, W, PG, 2 * PG), ENOMEM);
    e.fails(mremap(e, P(3), PG, 2 * PG), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "4-6 r--p 4"]);
    expect(e.mm.total_vm).toBe(6);
  });

  it("the stack guard gap of a GROWSDOWN next VMA is not considered", () => {
    //  AA..GG  ->  AAAAGG
    const e = env();
    map(e, 0, 2);
    map(e, 4, 2, RW, FIX | MAP_GROWSDOWN);
    expect(e.ok(mremap(e, W, 2 * PG, 4 * PG))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "4-6 rw-p 4"]);
  });

  it("a GROWSDOWN VMA can be grown at its end (M9)", () => {
    const e = env();
    map(e, 4, 1, RW, FIX | MAP_GROWSDOWN);
    expect(e.ok(mremap(e, P(4), PG, 2 * PG))).toBe(P(4));
    expect(layout(e.mm)).toEqual(["4-6 rw-p 4"]);
    expect(flagsAt(e.mm, P(4))).toBe("rd wr mr mw me gd ac");
    expect(e.mm.stack_vm).toBe(2);
  });

  it("not past TASK_SIZE", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, TASK_SIZE - 2 * PG, PG, RW, FIX, -1, 0));
    expect(e.ok(mremap(e, TASK_SIZE - 2 * PG, PG, 2 * PG))).toBe(TASK_SIZE - 2 * PG);
    e.fails(mremap(e, TASK_SIZE - PG, PG, 2 * PG), ENOMEM);
    expect(e.mm.total_vm).toBe(2);
  });

  it("a locked VMA is populated as it grows (M8)", () => {
    //  L...  ->  LLLL, all resident
    const e = env();
    map(e, 0, 1, RW, FIX | MAP_LOCKED);
    expect(e.mm.locked_vm).toBe(1);
    expect(e.ok(mremap(e, W, PG, 4 * PG))).toBe(W);
    expect(resident(e, W, 4)).toBe("1111");
    expect(e.mm.locked_vm).toBe(4);
    expect(e.mm.get_mm_rss()).toBe(4);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
  });
});

describe("mremap: moves", () => {
  it("MAYMOVE grow when blocked: moves top-down, the old range is unmapped (M5)", () => {
    //  012        new (below mmap_base)
    //  aar   ->   ..r  + aa..
    const e = env();
    map(e, 0, 2);
    touch(e, 0, 2);
    map(e, 2, 1, PROT_READ);
    const dst = e.mm.mmap_base - 4 * PG;
    expect(e.ok(mremap(e, W, 2 * PG, 4 * PG, MAY))).toBe(dst);
    expect(layout(e.mm)).toEqual(["2-3 r--p 2", `${(dst - W) / PG}-${(dst - W) / PG + 4} rw-p 0 a`]);
    expect(resident(e, dst, 4)).toBe("1100");
    expect(e.mm.total_vm).toBe(5);
    expect(e.mm.get_mm_rss()).toBe(2);
  });

  it("MAYMOVE grow of an interior range splits the source (G3)", () => {
    //  0123          new
    //  aaaa   ->   .aaa  + aa (1 resident)
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    const dst = e.mm.mmap_base - 2 * PG;
    expect(e.ok(mremap(e, W, PG, 2 * PG, MAY))).toBe(dst);
    expect(layout(e.mm)).toEqual(["1-4 rw-p 1 a", `${(dst - W) / PG}-${(dst - W) / PG + 2} rw-p 0 a`]);
    expect(resident(e, dst, 2)).toBe("10");
    expect(e.mm.total_vm).toBe(5);
    expect(e.mm.get_mm_rss()).toBe(4);
  });

  it("FIXED move of a whole populated VMA: pages, RSS, total_vm and hiwater_vm move along (V1)", () => {
    //  0123          64..67
    //  aaaa   ->     aaaa
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    const minflt = e.t.min_flt;
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["64-68 rw-p 0 a"]);
    expect(resident(e, D, 4)).toBe("1111");
    e.fails(sys_mincore(e.m, e.t, W, 4 * PG), ENOMEM);
    expect(e.mm.get_mm_rss()).toBe(4);
    expect(e.mm.total_vm).toBe(4);
    expect(e.mm.data_vm).toBe(4);
    // VmPeak = max(hiwater_vm, total_vm): the transient double mapping is not a peak.
    expect(Math.max(e.mm.hiwater_vm, e.mm.total_vm)).toBe(4);
    expect(e.t.min_flt).toBe(minflt);
    expect(e.m.frames.nr_used).toBe(4);
  });

  it("FIXED replaces whatever is at the destination (V2)", () => {
    //  0123          64..71               64..71
    //  aaaa   +      rrrrrrrr    ->       rraaaarr
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    map(e, 64, 8, PROT_READ);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, MOVE, P(66)))).toBe(P(66));
    expect(layout(e.mm)).toEqual(["64-66 r--p 64", "66-70 rw-p 0 a", "70-72 r--p 70"]);
    expect(e.mm.total_vm).toBe(8);
    expect(Math.max(e.mm.hiwater_vm, e.mm.total_vm)).toBe(12);
  });

  it("FIXED move of the middle of a VMA splits it; a faulted piece keeps its pgoff (V3, M11)", () => {
    //  012345          64
    //  aaaaaa   ->   aa..aa  + aa
    const e = env();
    map(e, 0, 6);
    touch(e, 0, 6);
    expect(e.ok(mremap(e, P(2), 2 * PG, 2 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0 a", "4-6 rw-p 4 a", "64-66 rw-p 2 a"]);
    expect(e.mm.get_mm_rss()).toBe(6);
  });

  it("an unfaulted piece takes the pgoff of its new address (V3u)", () => {
    const e = env();
    map(e, 0, 6);
    expect(e.ok(mremap(e, P(2), 2 * PG, 2 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "4-6 rw-p 4", "64-66 rw-p 64"]);
  });

  it("FIXED grow into an occupied destination merges with its remnant (V4, M6b)", () => {
    //  0         64..71               64..71
    //  r    +    rrrrrrrr    ->       rrrrrrrr (one VMA)
    const e = env();
    map(e, 0, 1, PROT_READ);
    map(e, 64, 8, PROT_READ);
    expect(e.ok(mremap(e, W, PG, 4 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["64-72 r--p 64"]);
    expect(e.mm.total_vm).toBe(8);
  });

  it("FIXED shrink: the tail is unmapped, the rest moves (V6)", () => {
    //  aaaa   ->   64: aa
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    expect(e.ok(mremap(e, W, 4 * PG, 2 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["64-66 rw-p 0 a"]);
    expect(resident(e, D, 2)).toBe("11");
    expect(e.mm.get_mm_rss()).toBe(2);
    expect(e.mm.total_vm).toBe(2);
    expect(e.m.frames.nr_used).toBe(2);
  });

  it("FIXED right next to itself: the copy merges with the source first (V7)", () => {
    //  AAAA....  ->  ....AAAA
    const e = env();
    map(e, 0, 4);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, MOVE, P(4)))).toBe(P(4));
    expect(layout(e.mm)).toEqual(["4-8 rw-p 4"]);
    expect(e.mm.total_vm).toBe(4);
  });
});

describe("mremap: MREMAP_DONTUNMAP", () => {
  it("the source stays mapped and empty, the destination holds the pages (D1, M1)", () => {
    //  0123          64..67
    //  aaaa   ->   AAAA (empty)  + aaaa
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, DONT | MREMAP_FIXED, D))).toBe(D);
    // The whole-VMA source loses its anon_vma (unlink_anon_vmas).
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "64-68 rw-p 0 a"]);
    expect(resident(e, W, 4)).toBe("0000");
    expect(resident(e, D, 4)).toBe("1111");
    expect(e.mm.total_vm).toBe(8);
    expect(e.mm.data_vm).toBe(8);
    expect(e.mm.get_mm_rss()).toBe(4);
    expect(flagsAt(e.mm, D)).toBe("rd wr mr mw me ac");
    // The emptied source faults in fresh pages.
    touch(e, 0, 1);
    expect(resident(e, W, 4)).toBe("1000");
    expect(e.mm.get_mm_rss()).toBe(5);
  });

  // dontunmap_complete() clears only VM_LOCKED_MASK: the source stays accounted.
  it("the source keeps VM_ACCOUNT", () => {
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    e.ok(mremap(e, W, 4 * PG, 4 * PG, DONT | MREMAP_FIXED, D));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
  });

  it("without FIXED the new address is a hint (D1b)", () => {
    const e = env();
    map(e, 0, 4);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, DONT, D))).toBe(D);
    expect(e.mm.map_count).toBe(2);
    expect(layout(e.mm)[1]).toBe("64-68 rw-p 64");
  });

  it("with FIXED into an occupied destination (D2, M2)", () => {
    //  aaaa  +  64: rrrrrrrr  ->  AAAA  +  rraaaarr
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    map(e, 64, 8, PROT_READ);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, DONT | MREMAP_FIXED, P(66)))).toBe(P(66));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "64-66 r--p 64", "66-70 rw-p 0 a", "70-72 r--p 70"]);
    expect(resident(e, W, 4)).toBe("0000");
  });

  it("of part of a VMA: the source is not split, only emptied there (D3)", () => {
    //  012345              64
    //  aaaaaa   ->   aa..aa (one VMA)  + aa
    const e = env();
    map(e, 0, 6);
    touch(e, 0, 6);
    expect(e.ok(mremap(e, P(2), 2 * PG, 2 * PG, DONT | MREMAP_FIXED, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["0-6 rw-p 0 a", "64-66 rw-p 2 a"]);
    expect(resident(e, W, 6)).toBe("110011");
    expect(e.mm.total_vm).toBe(8);
    expect(e.mm.get_mm_rss()).toBe(6);
  });

  it("of a locked VMA: the source is unlocked but its pages stay counted in locked_vm (D4)", () => {
    const e = env();
    map(e, 0, 4, RW, FIX | MAP_LOCKED);
    expect(e.mm.locked_vm).toBe(4);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, DONT | MREMAP_FIXED, D))).toBe(D);
    expect(flagsAt(e.mm, D)).toBe("rd wr mr mw me lo ac");
    expect(resident(e, W, 4)).toBe("0000");
    expect(resident(e, D, 4)).toBe("1111");
    expect(e.mm.locked_vm).toBe(8);
    e.ok(sys_munmap(e.m, e.t, W, 4 * PG));
    expect(e.mm.locked_vm).toBe(8);
    e.ok(sys_munmap(e.m, e.t, D, 4 * PG));
    expect(e.mm.locked_vm).toBe(4);
  });

  it("of shared memory: both mappings still see the shmem pages (D5)", () => {
    const e = env();
    map(e, 0, 4, RW, SHFIX);
    touch(e, 0, 2);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, DONT | MREMAP_FIXED, D))).toBe(D);
    expect(resident(e, W, 4)).toBe("1100");
    expect(resident(e, D, 4)).toBe("1100");
    expect(e.mm.map_count).toBe(2);
  });

  it("then moving the pages back over the source (one VMA again, all resident)", () => {
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    e.ok(mremap(e, W, 4 * PG, 4 * PG, DONT | MREMAP_FIXED, D));
    expect(e.ok(mremap(e, D, 4 * PG, 4 * PG, MOVE, W))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    expect(resident(e, W, 4)).toBe("1111");
    expect(e.mm.total_vm).toBe(4);
  });
});

describe("mremap: MREMAP_FIXED without resize over several VMAs (6.17)", () => {
  it("moves every VMA of the range (M3)", () => {
    //  0123          64..67
    //  aarr   ->     aarr
    const e = env();
    map(e, 0, 2);
    map(e, 2, 2, PROT_READ);
    touch(e, 0, 2);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["64-66 rw-p 0 a", "66-68 r--p 66"]);
  });

  it("keeps the holes, splits the first and last VMA at the range ends (M3b)", () => {
    //  0123456789AB               64..71
    //  aaaa.r..XXXX  [2,10) ->  aa......XX  +  aa.r..XX
    const e = env();
    map(e, 0, 4);
    map(e, 5, 1, PROT_READ);
    map(e, 8, 4, PROT_READ | PROT_EXEC);
    touch(e, 0, 4);
    expect(e.ok(mremap(e, P(2), 8 * PG, 8 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual([
      "0-2 rw-p 0 a",
      "10-12 r-xp 10",
      "64-66 rw-p 2 a",
      "67-68 r--p 67",
      "70-72 r-xp 70",
    ]);
    e.fails(sys_mincore(e.m, e.t, D, 8 * PG), ENOMEM);
    expect(resident(e, D, 2)).toBe("11");
    expect(e.mm.total_vm).toBe(9);
    expect(e.mm.exec_vm).toBe(4);
    expect(e.mm.get_mm_rss()).toBe(4);
  });

  it("a range starting in a hole is EFAULT and nothing moves (M3c)", () => {
    //  .AA.   64: rrrr
    const e = env();
    map(e, 1, 2);
    map(e, 64, 4, PROT_READ);
    e.fails(mremap(e, W, 4 * PG, 4 * PG, MOVE, D), EFAULT);
    expect(layout(e.mm)).toEqual(["1-3 rw-p 1", "64-68 r--p 64"]);
  });

  it("a trailing hole: only the destinations of moved VMAs are unmapped", () => {
    //  AA..   64: rrrrrrrr  ->  64: AArrrrrr
    const e = env();
    map(e, 0, 2);
    map(e, 64, 8, PROT_READ);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["64-66 rw-p 64", "66-72 r--p 66"]);
  });

  it("with DONTUNMAP: every source stays", () => {
    //  AA.r  ->  AA.r  +  64: AA.r
    const e = env();
    map(e, 0, 2);
    map(e, 3, 1, PROT_READ);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, MOVE | MREMAP_DONTUNMAP, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "3-4 r--p 3", "64-66 rw-p 64", "67-68 r--p 67"]);
    expect(e.mm.total_vm).toBe(6);
  });

  it("locked VMAs move locked; locked_vm is unchanged", () => {
    //  AA.LL  ->  64: AA.LL
    const e = env();
    map(e, 0, 2);
    map(e, 3, 2, RW, FIX | MAP_LOCKED);
    expect(e.mm.locked_vm).toBe(2);
    expect(e.ok(mremap(e, W, 5 * PG, 5 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["64-66 rw-p 64", "67-69 rw-p 3 a"]);
    expect(flagsAt(e.mm, P(67))).toBe("rd wr mr mw me lo ac");
    expect(e.mm.locked_vm).toBe(2);
    expect(resident(e, P(67), 2)).toBe("11");
  });

  it("MAYMOVE alone with the same size over several VMAs does nothing (M3g)", () => {
    const e = env();
    map(e, 0, 2);
    map(e, 2, 2, PROT_READ);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, MAY))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 r--p 2"]);
  });
});

describe("mremap: merging of moved VMAs (§2.2)", () => {
  it("F7': an unfaulted VMA moved next to a touched one merges into it", () => {
    //  aa..    +  128: BB   ->  aaaa
    const e = env();
    map(e, 0, 2);
    touch(e, 0, 1);
    map(e, 128, 2);
    expect(e.ok(mremap(e, P(128), 2 * PG, 2 * PG, MOVE, P(2)))).toBe(P(2));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
  });

  it("T18': a faulted VMA moved next to an untouched one keeps its pgoff and stays apart", () => {
    //  AA..    +  128: bb   ->  AAbb
    const e = env();
    map(e, 0, 2);
    map(e, 128, 2);
    touch(e, 128, 1);
    expect(e.ok(mremap(e, P(128), 2 * PG, 2 * PG, MOVE, P(2)))).toBe(P(2));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 rw-p 128 a"]);
  });

  it("F9: two unfaulted VMAs merge after a move", () => {
    //  AA....BB  ->  AAAA
    const e = env();
    map(e, 0, 2);
    map(e, 6, 2);
    expect(e.ok(mremap(e, P(6), 2 * PG, 2 * PG, MOVE, P(2)))).toBe(P(2));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
  });

  it("an unfaulted VMA moved into a gap merges with both sides", () => {
    //  AA..BB  + 128: CC  ->  AAAAAA
    const e = env();
    map(e, 0, 2);
    map(e, 4, 2);
    map(e, 128, 2);
    expect(e.ok(mremap(e, P(128), 2 * PG, 2 * PG, MOVE, P(2)))).toBe(P(2));
    expect(layout(e.mm)).toEqual(["0-6 rw-p 0"]);
  });

  it("...but only with one side when the two sides have different anon_vmas", () => {
    //  aa..bb  + 128: CC  ->  aaaabb
    const e = env();
    map(e, 0, 2);
    touch(e, 0, 1);
    map(e, 4, 2);
    touch(e, 4, 1);
    map(e, 128, 2);
    expect(e.ok(mremap(e, P(128), 2 * PG, 2 * PG, MOVE, P(2)))).toBe(P(2));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a", "4-6 rw-p 4 a"]);
  });

  it("F8: a faulted piece moved back where its pgoff lines up re-merges", () => {
    //  aaaa  ->  aa......aa  ->  aaaa
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    expect(e.ok(mremap(e, P(2), 2 * PG, 2 * PG, MOVE, P(8)))).toBe(P(8));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0 a", "8-10 rw-p 2 a"]);
    expect(e.ok(mremap(e, P(8), 2 * PG, 2 * PG, MOVE, P(2)))).toBe(P(2));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    // Both halves moved elsewhere in the same order: pgoffs line up, one VMA (F8c).
    e.ok(mremap(e, P(2), 2 * PG, 2 * PG, MOVE, P(12)));
    e.ok(mremap(e, W, 2 * PG, 2 * PG, MOVE, P(10)));
    expect(layout(e.mm)).toEqual(["10-14 rw-p 0 a"]);
  });

  it("F8c': the two halves in swapped order do not merge", () => {
    //  aaaa  ->  10: [2-3][0-1]
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    e.ok(mremap(e, P(2), 2 * PG, 2 * PG, MOVE, P(10)));
    e.ok(mremap(e, W, 2 * PG, 2 * PG, MOVE, P(12)));
    expect(layout(e.mm)).toEqual(["10-12 rw-p 2 a", "12-14 rw-p 0 a"]);
  });

  it("a new mapping next to a moved faulted VMA does not merge (pgoff)", () => {
    //  aaaa  ->  16: aaaa + new BB at 20
    const e = env();
    map(e, 0, 4);
    touch(e, 0, 4);
    e.ok(mremap(e, W, 4 * PG, 4 * PG, MOVE, P(16)));
    map(e, 20, 2);
    expect(layout(e.mm)).toEqual(["16-20 rw-p 0 a", "20-22 rw-p 20"]);
  });
});

describe("mremap: limits", () => {
  it("RLIMIT_AS: grow over it is ENOMEM (also with MAYMOVE); a plain move is fine; DONTUNMAP counts", () => {
    const e = env({ spawn: { rlimits: { AS: 4 * PG } } });
    map(e, 0, 2);
    expect(e.ok(mremap(e, W, 2 * PG, 4 * PG))).toBe(W);
    e.fails(mremap(e, W, 4 * PG, 7 * PG), ENOMEM);
    e.fails(mremap(e, W, 4 * PG, 7 * PG, MAY), ENOMEM);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, MOVE, D))).toBe(D);
    e.fails(mremap(e, D, 4 * PG, 4 * PG, DONT | MREMAP_FIXED, W), ENOMEM);
    e.fails(mremap(e, D, PG, PG, DONT | MREMAP_FIXED, W), ENOMEM);
    expect(e.ok(mremap(e, D, 4 * PG, PG))).toBe(D);
    expect(e.ok(mremap(e, D, PG, PG, DONT | MREMAP_FIXED, W))).toBe(W);
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0", "64-65 rw-p 64"]);
    expect(e.mm.total_vm).toBe(2);
  });

  it("RLIMIT_DATA applies to growing private writable VMAs only", () => {
    const e = env({ spawn: { rlimits: { DATA: 3 * PG } } });
    map(e, 0, 2);
    map(e, 8, 2, PROT_READ);
    e.fails(mremap(e, W, 2 * PG, 4 * PG), ENOMEM);
    expect(e.ok(mremap(e, W, 2 * PG, 3 * PG))).toBe(W);
    expect(e.ok(mremap(e, P(8), 2 * PG, 6 * PG))).toBe(P(8));
    expect(layout(e.mm)).toEqual(["0-3 rw-p 0", "8-14 r--p 8"]);
    expect(e.mm.data_vm).toBe(3);
  });

  it("RLIMIT_MEMLOCK: growing a locked VMA is EAGAIN, checked after EFAULT and before RLIMIT_AS", () => {
    const e = env({ spawn: { rlimits: { MEMLOCK: 3 * PG } } });
    map(e, 0, 2, RW, FIX | MAP_LOCKED);
    e.fails(mremap(e, W, 2 * PG, 4 * PG), EAGAIN);
    expect(e.ok(mremap(e, W, 2 * PG, 3 * PG))).toBe(W);
    e.t.rlimits.AS = 3 * PG;
    e.fails(mremap(e, W, 3 * PG, 5 * PG), EAGAIN);
    e.fails(mremap(e, W, 4 * PG, 6 * PG), EFAULT);
    // A move does not grow anything.
    expect(e.ok(mremap(e, W, 3 * PG, 3 * PG, MOVE, D))).toBe(D);
    expect(layout(e.mm)).toEqual(["64-67 rw-p 0 a"]);
    expect(e.mm.locked_vm).toBe(3);
    expect(resident(e, D, 3)).toBe("111");
  });

  it("a locked VMA grown by a move is populated and counted (G7b)", () => {
    //  Lr  ->  .r + LLLL below mmap_base
    const e = env();
    map(e, 0, 1, RW, FIX | MAP_LOCKED);
    map(e, 1, 1, PROT_READ);
    const dst = e.mm.mmap_base - 4 * PG;
    expect(e.ok(mremap(e, W, PG, 4 * PG, MAY))).toBe(dst);
    expect(resident(e, dst, 4)).toBe("1111");
    expect(e.mm.locked_vm).toBe(4);
    expect(e.mm.get_mm_rss()).toBe(4);
    expect(e.mm.total_vm).toBe(5);
  });
});

describe("mremap: max_map_count", () => {
  const MAX = 20;
  const opts: EnvOptions = { profile: { maxMapCount: MAX } };

  it("FIXED/DONTUNMAP need map_count + 2 < max - 3, checked before the source lookup", () => {
    const e = env(opts);
    map(e, 0, 4);
    map(e, 4, 1, PROT_READ);
    withMapCount(e, MAX - 5);
    e.fails(mremap(e, P(100), PG, PG, MOVE, D), ENOMEM);
    e.fails(mremap(e, W, PG, PG, MOVE, D), ENOMEM);
    e.fails(mremap(e, W, PG, PG, DONT), ENOMEM);
    e.ok(sys_munmap(e.m, e.t, W + 0x1000 * PG, PG));
    expect(e.mm.map_count).toBe(MAX - 6);
    e.fails(mremap(e, P(100), PG, PG, MOVE, D), EFAULT);
    expect(e.ok(mremap(e, W, 4 * PG, 4 * PG, MOVE, D))).toBe(D);
    expect(e.ok(mremap(e, D, 4 * PG, 4 * PG, MOVE, W))).toBe(W);
    expect(e.mm.map_count).toBe(MAX - 6);
  });

  it("a move needs map_count < max - 3; in-place shrink and grow do not care", () => {
    //  AAAAr: growing AAAA must move
    const e = env(opts);
    map(e, 0, 4);
    map(e, 4, 1, PROT_READ);
    withMapCount(e, MAX - 3);
    e.fails(mremap(e, W, 4 * PG, 5 * PG, MAY), ENOMEM);
    e.fails(mremap(e, W, PG, PG, DONT), ENOMEM);
    expect(e.ok(mremap(e, W, 4 * PG, 3 * PG))).toBe(W);
    expect(e.ok(mremap(e, W, 3 * PG, 4 * PG))).toBe(W);
    e.ok(sys_munmap(e.m, e.t, W + 0x1000 * PG, PG));
    expect(e.mm.map_count).toBe(MAX - 4);
    const dst = e.mm.mmap_base - 5 * PG;
    expect(e.ok(mremap(e, W, 4 * PG, 5 * PG, MAY))).toBe(dst);
    expect(e.mm.map_count).toBe(MAX - 4);
  });
});
