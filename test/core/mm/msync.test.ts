/**
 * msync(2) against Linux 6.18 (mm/msync.c). Expectations were printed by C probes on this
 * machine's kernel (ext4 files with their page cache dropped first, MAP_FIXED at 0x100000000000).
 * Write-back is observed through smaps (Private_Dirty -> Private_Clean) and through the write
 * fault the next store takes (page_mkclean write-protects the PTEs).
 */
import { describe, expect, it } from "vitest";
import { EBUSY, EINVAL, ENOMEM } from "../../../src/core/abi/errno.js";
import {
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MS_ASYNC,
  MS_INVALIDATE,
  MS_SYNC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { sys_msync } from "../../../src/core/mm/msync.js";
import { smap_gather_stats } from "../../../src/core/mm/procfs.js";
import { type Env, env, PG, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const FIX = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const SHFIX = MAP_SHARED | MAP_FIXED;

function msync(e: Env, addr: number, len: number, flags: number) {
  return sys_msync(e.m, e.t, addr, len, flags);
}

/** Dirty and clean kB of the VMA containing addr, as smaps prints them. */
function dirt(e: Env, addr: number): { dirty: number; clean: number } {
  const s = smap_gather_stats(e.m, e.mm.mm_mt.lookup(addr)!);
  return {
    dirty: (s.private_dirty + s.shared_dirty) / 1024,
    clean: (s.private_clean + s.shared_clean) / 1024,
  };
}

/** A shared writable mapping of a new file at addr, every page written (dirty). */
function dirtyShared(e: Env, path: string, addr: number, pages: number, fileOff = 0, filePages = pages) {
  let inode = e.m.fs.lookup(path);
  if (!inode) inode = e.m.fs.create(path, filePages * PG);
  const fd = e.ok(sys_open(e.m, e.t, path, O_RDWR));
  e.ok(sys_mmap(e.m, e.t, addr, pages * PG, RW, SHFIX, fd, fileOff * PG));
  e.ok(sys_madvise(e.m, e.t, addr, pages * PG, MADV_POPULATE_WRITE));
  return inode;
}

describe("msync: argument checks in Linux's order", () => {
  it("unknown flags, then alignment, then ASYNC|SYNC are EINVAL (before any length check)", () => {
    const e = env();
    e.fails(msync(e, W + 1, PG, 8), EINVAL);
    e.fails(msync(e, W, PG, 8), EINVAL);
    e.fails(msync(e, W, 0, 0x10), EINVAL);
    e.fails(msync(e, W + 1, PG, MS_ASYNC | MS_SYNC), EINVAL);
    e.fails(msync(e, W + 1, 0, MS_SYNC), EINVAL);
    e.fails(msync(e, W, PG, MS_ASYNC | MS_SYNC), EINVAL);
    e.fails(msync(e, W, PG, MS_ASYNC | MS_INVALIDATE | MS_SYNC), EINVAL);
    e.fails(msync(e, W, -PG, MS_ASYNC | MS_SYNC), EINVAL);
  });

  it("an end that wraps is ENOMEM; len rounding to 0 and len 0 are 0, even on a hole", () => {
    const e = env();
    e.fails(msync(e, W, -PG, MS_SYNC), ENOMEM);
    e.fails(msync(e, W, -2 * PG, MS_SYNC), ENOMEM);
    e.fails(msync(e, -PG, PG, MS_SYNC), ENOMEM);
    // PAGE_ALIGN(-1) wraps to 0: nothing to do (madvise calls this EINVAL, msync does not).
    expect(e.ok(msync(e, W, -1, MS_SYNC))).toBe(0);
    expect(e.ok(msync(e, W, 0, MS_SYNC))).toBe(0);
    expect(e.ok(msync(e, W, 0, MS_ASYNC | MS_INVALIDATE))).toBe(0);
    expect(e.ok(msync(e, -PG, 0, MS_SYNC))).toBe(0);
  });

  it("no VMA is ENOMEM for every flag combination, beyond TASK_SIZE and at kernel addresses", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, RW, FIX, -1, 0));
    for (const f of [
      0,
      MS_ASYNC,
      MS_SYNC,
      MS_INVALIDATE,
      MS_ASYNC | MS_INVALIDATE,
      MS_SYNC | MS_INVALIDATE,
    ]) {
      e.fails(msync(e, W, PG, f), ENOMEM);
      e.fails(msync(e, W + 6 * PG, PG, f), ENOMEM);
    }
    e.fails(msync(e, W, 2 * PG, MS_SYNC), ENOMEM);
    e.fails(msync(e, TASK_SIZE, PG, MS_SYNC), ENOMEM);
    e.fails(msync(e, 0x800000000000, PG, MS_SYNC), ENOMEM);
    e.fails(msync(e, -2 * PG, PG, MS_SYNC), ENOMEM);
  });

  it("flags 0, MS_INVALIDATE and MS_ASYNC are accepted on mapped memory", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    for (const f of [
      0,
      MS_ASYNC,
      MS_INVALIDATE,
      MS_SYNC,
      MS_ASYNC | MS_INVALIDATE,
      MS_SYNC | MS_INVALIDATE,
    ]) {
      expect(e.ok(msync(e, W, 2 * PG, f))).toBe(0);
    }
    expect(e.ok(msync(e, W, 1, MS_SYNC))).toBe(0);
  });
});

describe("msync: write-back of shared file mappings", () => {
  it("MS_SYNC cleans the dirty pages and write-protects them: the next store faults again", () => {
    const e = env();
    dirtyShared(e, "/f", W, 4);
    expect(dirt(e, W)).toEqual({ dirty: 16, clean: 0 });
    const flt = e.t.min_flt;
    e.ok(sys_madvise(e.m, e.t, W, 4 * PG, MADV_POPULATE_WRITE));
    expect(e.t.min_flt).toBe(flt);
    expect(e.ok(msync(e, W, 4 * PG, MS_SYNC))).toBe(0);
    expect(dirt(e, W)).toEqual({ dirty: 0, clean: 16 });
    expect(e.mm.get_mm_rss()).toBe(4);
    e.ok(sys_madvise(e.m, e.t, W, 4 * PG, MADV_POPULATE_WRITE));
    expect(e.t.min_flt - flt).toBe(4);
    expect(dirt(e, W)).toEqual({ dirty: 16, clean: 0 });
  });

  it("MS_ASYNC, MS_INVALIDATE and flags 0 write nothing back", () => {
    const e = env();
    dirtyShared(e, "/f", W, 4);
    for (const f of [MS_ASYNC, MS_INVALIDATE, 0, MS_ASYNC | MS_INVALIDATE]) {
      expect(e.ok(msync(e, W, 4 * PG, f))).toBe(0);
      expect(dirt(e, W)).toEqual({ dirty: 16, clean: 0 });
    }
  });

  it("MS_SYNC of part of a VMA writes back just those pages", () => {
    const e = env();
    dirtyShared(e, "/f", W, 2);
    e.ok(msync(e, W + PG, PG, MS_SYNC));
    expect(dirt(e, W)).toEqual({ dirty: 4, clean: 4 });
  });

  it("holes: MS_SYNC writes back on both sides and returns ENOMEM at the end", () => {
    //  01 2 34
    //  AA . BB     A and B: shared mappings of two files
    const e = env();
    dirtyShared(e, "/a", W, 2);
    dirtyShared(e, "/b", W + 3 * PG, 2);
    e.fails(msync(e, W, 5 * PG, MS_ASYNC), ENOMEM);
    e.fails(msync(e, W, 5 * PG, MS_INVALIDATE), ENOMEM);
    expect([dirt(e, W), dirt(e, W + 3 * PG)]).toEqual([
      { dirty: 8, clean: 0 },
      { dirty: 8, clean: 0 },
    ]);
    e.fails(msync(e, W, 5 * PG, MS_SYNC), ENOMEM);
    expect([dirt(e, W), dirt(e, W + 3 * PG)]).toEqual([
      { dirty: 0, clean: 8 },
      { dirty: 0, clean: 8 },
    ]);
  });

  it("a range starting in a hole still syncs the VMA after it", () => {
    const e = env();
    dirtyShared(e, "/b", W + 3 * PG, 2);
    e.fails(msync(e, W + 2 * PG, 3 * PG, MS_SYNC), ENOMEM);
    expect(dirt(e, W + 3 * PG)).toEqual({ dirty: 0, clean: 8 });
  });

  it("private file mappings and shared anonymous memory: MS_SYNC is 0 and COW pages stay dirty", () => {
    const e = env();
    e.m.fs.create("/f", 4 * PG);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDWR));
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(sys_madvise(e.m, e.t, W, 4 * PG, MADV_POPULATE_WRITE));
    e.ok(
      sys_mmap(
        e.m,
        e.t,
        W + 4 * PG,
        4 * PG,
        RW,
        MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
        -1,
        0,
      ),
    );
    expect(e.ok(msync(e, W, 8 * PG, MS_SYNC))).toBe(0);
    expect(dirt(e, W)).toEqual({ dirty: 16, clean: 0 });
    expect(e.mm.get_mm_rss()).toBe(8);
  });
});

describe("msync: MS_INVALIDATE on VM_LOCKED is EBUSY", () => {
  it("EBUSY stops the walk: the VMA before is synced, the one after is not", () => {
    //  01 23 45
    //  AA LL BB    A, B: dirty shared file mappings; L: locked anon
    const e = env();
    dirtyShared(e, "/a", W, 2);
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, FIX | MAP_LOCKED, -1, 0));
    dirtyShared(e, "/b", W + 4 * PG, 2);
    e.fails(msync(e, W, 6 * PG, MS_SYNC | MS_INVALIDATE), EBUSY);
    expect([dirt(e, W), dirt(e, W + 4 * PG)]).toEqual([
      { dirty: 0, clean: 8 },
      { dirty: 8, clean: 0 },
    ]);
    expect(e.ok(msync(e, W, 6 * PG, MS_SYNC))).toBe(0);
    expect(dirt(e, W + 4 * PG)).toEqual({ dirty: 0, clean: 8 });
  });

  it("only with MS_INVALIDATE; after a hole too, unless flags are exactly MS_ASYNC (ENOMEM at once)", () => {
    //  01 23
    //  .. LL
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, FIX | MAP_LOCKED, -1, 0));
    expect(e.ok(msync(e, W + 2 * PG, 2 * PG, MS_SYNC))).toBe(0);
    expect(e.ok(msync(e, W + 2 * PG, 2 * PG, 0))).toBe(0);
    e.fails(msync(e, W + 2 * PG, 2 * PG, MS_ASYNC | MS_INVALIDATE), EBUSY);
    e.fails(msync(e, W + 2 * PG, 4 * PG, MS_SYNC | MS_INVALIDATE), EBUSY);
    e.fails(msync(e, W, 4 * PG, MS_INVALIDATE), EBUSY);
    e.fails(msync(e, W, 4 * PG, MS_ASYNC | MS_INVALIDATE), EBUSY);
    e.fails(msync(e, W, 4 * PG, MS_ASYNC), ENOMEM);
  });
});
