/**
 * madvise(2) against Linux 6.18 (mm/madvise.c). Expectations were printed by C probes on this
 * machine's kernel (raw syscall(), MAP_FIXED at 0x100000000000, pvm_no_zero_page, no swap).
 * Pictures: one column per page of the window W, A/B/C = VMAs, . = hole.
 */
import { describe, expect, it } from "vitest";
import { EACCES, EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM } from "../../../src/core/abi/errno.js";
import {
  MADV_COLD,
  MADV_COLLAPSE,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_HWPOISON,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_SOFT_OFFLINE,
  MADV_UNMERGEABLE,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  O_RDONLY,
  O_RDWR,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mincore } from "../../../src/core/mm/mincore.js";
import { sys_mlock } from "../../../src/core/mm/mlock.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { sys_mprotect } from "../../../src/core/mm/mprotect.js";
import { smap_gather_stats } from "../../../src/core/mm/procfs.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES } from "../../../src/core/mm/types.js";
import { type Env, env, flagsAt, layout, PG, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const FIX = ANON | MAP_FIXED;
const SHANON = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
const KB = 1024;
/** layout() prints pgoff relative to W: a file mapping at offset 0 shows this. */
const FO = -W / PG;

/** madvise on the env's task. */
function madv(e: Env, addr: number, len: number, advice: number) {
  return sys_madvise(e.m, e.t, addr, len, advice);
}

/** mincore over n pages as a "0110" string (the call must succeed). */
function mc(e: Env, addr: number, n: number): string {
  return [...e.ok(sys_mincore(e.m, e.t, addr, n * PG))].join("");
}

const anon = (e: Env) => e.mm.rss_stat[MM_ANONPAGES];
const file = (e: Env) => e.mm.rss_stat[MM_FILEPAGES];
const shmem = (e: Env) => e.mm.rss_stat[MM_SHMEMPAGES];

/** smaps counters of the VMA containing addr, in kB. */
function smaps(e: Env, addr: number) {
  const s = smap_gather_stats(e.m, e.mm.mm_mt.lookup(addr)!);
  return {
    rss: s.resident / KB,
    clean: s.private_clean / KB,
    dirty: s.private_dirty / KB,
    lazyfree: s.lazyfree / KB,
  };
}

/** A file of `pages` pages (empty page cache) and an fd for it. */
function mkfile(e: Env, path: string, size: number, flags = O_RDWR) {
  const inode = e.m.fs.create(path, size);
  return { inode, fd: e.ok(sys_open(e.m, e.t, path, flags)) };
}

describe("madvise: global checks in Linux's order", () => {
  it("an unknown advice is EINVAL first: with len 0, an unaligned start, on a hole", () => {
    const e = env();
    e.fails(madv(e, W, PG, 999), EINVAL);
    e.fails(madv(e, W + 1, 0, 999), EINVAL);
    for (const bad of [5, 6, 7, 26, 99, 104, -1]) e.fails(madv(e, W, 0, bad), EINVAL);
  });

  it("unaligned start, len rounding to 0, and start+len overflow are EINVAL; len 0 is 0", () => {
    const e = env();
    e.fails(madv(e, W + 1, 0, MADV_NORMAL), EINVAL);
    e.fails(madv(e, W + 1, PG, MADV_DONTNEED), EINVAL);
    e.fails(madv(e, W, -1, MADV_NORMAL), EINVAL); // PAGE_ALIGN(-1) == 0
    e.fails(madv(e, W, -PG + 1, MADV_NORMAL), EINVAL);
    e.fails(madv(e, W, -PG, MADV_NORMAL), EINVAL); // W + 2^64-PG wraps
    e.fails(madv(e, W, -2 * PG, MADV_NORMAL), EINVAL);
    e.fails(madv(e, -PG, PG, MADV_NORMAL), EINVAL); // end == 0 < start
    // len 0 returns 0 before any VMA is looked at, even on a hole or a kernel address.
    expect(e.ok(madv(e, W, 0, MADV_DONTNEED))).toBe(0);
    expect(e.ok(madv(e, -PG, 0, MADV_NORMAL))).toBe(0);
    expect(e.ok(madv(e, W, 0, MADV_POPULATE_WRITE))).toBe(0);
  });

  it("a range with no VMA is ENOMEM: a hole, len 1 rounded up, beyond TASK_SIZE", () => {
    //  0123 4 567
    //  AAAA . BBB
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 5 * PG, 3 * PG, RW, FIX, -1, 0));
    e.fails(madv(e, W + 4 * PG, PG, MADV_DONTNEED), ENOMEM);
    e.fails(madv(e, W + 4 * PG, 1, MADV_DONTFORK), ENOMEM);
    e.fails(madv(e, W + 8 * PG, PG, MADV_NORMAL), ENOMEM);
    e.fails(madv(e, TASK_SIZE, PG, MADV_NORMAL), ENOMEM);
    e.fails(madv(e, 0x800000000000, PG, MADV_NORMAL), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("rd wr mr mw me ac");
  });

  it("a start above every VMA (a kernel address) finds no VMA: ENOMEM and nothing changes", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    // start = 2^64 - 2 pages, end = 2^64 - 1 page: no wrap, find_vma() finds nothing.
    e.fails(madv(e, -2 * PG, PG, MADV_DONTFORK), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
  });
});

describe("madvise: holes are skipped, ENOMEM at the end", () => {
  it("DONTFORK/DOFORK apply to every mapped part around a hole, splitting and re-merging", () => {
    //  0123 4 567        DONTFORK 0-8, DOFORK 2-6, DOFORK 7-10, DOFORK 0-9
    //  AAAA . BBB
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 5 * PG, 3 * PG, RW, FIX, -1, 0));
    e.fails(madv(e, W, 8 * PG, MADV_DONTFORK), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me dc ac");
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("rd wr mr mw me dc ac");

    e.fails(madv(e, W + 2 * PG, 4 * PG, MADV_DOFORK), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 rw-p 2", "5-6 rw-p 5", "6-8 rw-p 6"]);
    expect([W, W + 2 * PG, W + 5 * PG, W + 6 * PG].map((a) => flagsAt(e.mm, a))).toEqual([
      "rd wr mr mw me dc ac",
      "rd wr mr mw me ac",
      "rd wr mr mw me ac",
      "rd wr mr mw me dc ac",
    ]);

    // A range starting in the hole, and one running past the last VMA.
    e.fails(madv(e, W + 4 * PG, 2 * PG, MADV_DOFORK), ENOMEM);
    e.fails(madv(e, W + 7 * PG, 3 * PG, MADV_DOFORK), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 rw-p 2", "5-6 rw-p 5", "6-7 rw-p 6", "7-8 rw-p 7"]);

    e.fails(madv(e, W, 9 * PG, MADV_DOFORK), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("rd wr mr mw me ac");
  });

  it("DONTNEED zaps the pages on both sides of a hole, then ENOMEM", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 5 * PG, 3 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(anon(e)).toBe(7);
    e.fails(madv(e, W, 8 * PG, MADV_DONTNEED), ENOMEM);
    expect(anon(e)).toBe(0);
    expect(mc(e, W, 4) + mc(e, W + 5 * PG, 3)).toBe("0000000");
  });

  it("a per-VMA error stops the walk; earlier VMAs keep the advice", () => {
    //  01234567   WIPEONFORK 2-8: A's tail gets wf, then EINVAL at the shared B
    //  AAAABBBB
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 4 * PG, RW, SHANON, -1, 0));
    e.fails(madv(e, W + 2 * PG, 6 * PG, MADV_WIPEONFORK), EINVAL);
    expect(layout(e.mm).slice(0, 2)).toEqual(["0-2 rw-p 0", "2-4 rw-p 2"]);
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd wr mr mw me ac wf");
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("rd wr sh mr mw me ms");
  });

  it("DONTNEED over PROT_NONE, a hole and a locked VMA: EINVAL from the locked one", () => {
    //  01 23 45
    //  NN .. LL
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, PROT_NONE, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, RW, FIX | MAP_LOCKED, -1, 0));
    expect(e.ok(madv(e, W, 2 * PG, MADV_DONTNEED))).toBe(0);
    e.fails(madv(e, W, 6 * PG, MADV_DONTNEED), EINVAL);
    expect(anon(e)).toBe(2);
  });
});

describe("madvise: advices that change vm_flags split and re-merge", () => {
  it("RANDOM, SEQUENTIAL, NORMAL (T13): rr/sr pieces, then one VMA again", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, FIX, -1, 0));
    e.ok(madv(e, W + 2 * PG, 2 * PG, MADV_RANDOM));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 rw-p 2", "4-8 rw-p 4"]);
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd wr mr mw me rr ac");
    e.ok(madv(e, W + 3 * PG, 3 * PG, MADV_SEQUENTIAL));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-3 rw-p 2", "3-6 rw-p 3", "6-8 rw-p 6"]);
    expect(flagsAt(e.mm, W + 3 * PG)).toBe("rd wr mr mw me sr ac");
    e.ok(madv(e, W, 8 * PG, MADV_NORMAL));
    expect(layout(e.mm)).toEqual(["0-8 rw-p 0"]);
    e.ok(madv(e, W, 8 * PG, MADV_SEQUENTIAL));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me sr ac");
    e.ok(madv(e, W, 8 * PG, MADV_RANDOM));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me rr ac");
    expect(e.mm.map_count).toBe(1);
  });

  it("DONTFORK in the middle then DOFORK (T13), on a populated VMA: anon_vma kept", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(madv(e, W + PG, 2 * PG, MADV_DONTFORK));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0 a", "1-3 rw-p 1 a", "3-4 rw-p 3 a"]);
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr mr mw me dc ac");
    e.ok(madv(e, W + PG, 2 * PG, MADV_DOFORK));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    expect(anon(e)).toBe(4);
  });

  it("DONTDUMP/DODUMP, WIPEONFORK/KEEPONFORK, MERGEABLE/UNMERGEABLE, HUGEPAGE/NOHUGEPAGE", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, FIX, -1, 0));
    e.ok(madv(e, W + PG, PG, MADV_DONTDUMP));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0", "1-2 rw-p 1", "2-8 rw-p 2"]);
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr mr mw me ac dd");
    e.ok(madv(e, W, 8 * PG, MADV_DODUMP));
    expect(layout(e.mm)).toEqual(["0-8 rw-p 0"]);

    e.ok(madv(e, W + 6 * PG, 2 * PG, MADV_WIPEONFORK));
    expect(layout(e.mm)).toEqual(["0-6 rw-p 0", "6-8 rw-p 6"]);
    expect(flagsAt(e.mm, W + 6 * PG)).toBe("rd wr mr mw me ac wf");
    e.ok(madv(e, W, 8 * PG, MADV_KEEPONFORK));
    expect(layout(e.mm)).toEqual(["0-8 rw-p 0"]);

    e.ok(madv(e, W, 4 * PG, MADV_MERGEABLE));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "4-8 rw-p 4"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac mg");
    e.ok(madv(e, W, 8 * PG, MADV_UNMERGEABLE));
    expect(layout(e.mm)).toEqual(["0-8 rw-p 0"]);

    e.ok(madv(e, W, 4 * PG, MADV_HUGEPAGE));
    e.ok(madv(e, W + 2 * PG, 4 * PG, MADV_NOHUGEPAGE));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-6 rw-p 2", "6-8 rw-p 6"]);
    expect([W, W + 2 * PG, W + 6 * PG].map((a) => flagsAt(e.mm, a))).toEqual([
      "rd wr mr mw me ac hg",
      "rd wr mr mw me ac nh",
      "rd wr mr mw me ac",
    ]);
  });

  it("WIPEONFORK is EINVAL on a private file or a shared mapping; KEEPONFORK is fine", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 4 * PG, RW, SHANON, -1, 0));
    e.fails(madv(e, W, PG, MADV_WIPEONFORK), EINVAL);
    e.fails(madv(e, W + 8 * PG, 4 * PG, MADV_WIPEONFORK), EINVAL);
    expect(e.ok(madv(e, W, PG, MADV_KEEPONFORK))).toBe(0);
    expect(e.ok(madv(e, W + 8 * PG, 4 * PG, MADV_KEEPONFORK))).toBe(0);
    expect(e.mm.map_count).toBe(2);
  });

  it("MERGEABLE is ignored on shared anon but applies to a private file; HUGEPAGE splits shared anon", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, SHANON, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    expect(e.ok(madv(e, W, 4 * PG, MADV_MERGEABLE))).toBe(0);
    expect(flagsAt(e.mm, W)).toBe("rd wr sh mr mw me ms");
    e.ok(madv(e, W + 4 * PG, PG, MADV_MERGEABLE));
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("rd mr mw me mg");
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("rd mr mw me");
    e.ok(madv(e, W, PG, MADV_HUGEPAGE));
    expect(flagsAt(e.mm, W)).toBe("rd wr sh mr mw me ms hg");
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr sh mr mw me ms");
    expect(e.mm.map_count).toBe(4);
  });
});

describe("madvise: a split at max_map_count is EAGAIN", () => {
  //  0123 4567 ........ 20
  //  AAAA BBBB          C      A has dc; map_count == max_map_count == 3
  function full() {
    const e = env({ profile: { maxMapCount: 3 } });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 4 * PG, RW, FIX, -1, 0));
    e.ok(madv(e, W, 4 * PG, MADV_DONTFORK));
    e.ok(sys_mmap(e.m, e.t, W + 20 * PG, PG, PROT_READ, FIX, -1, 0));
    expect(e.mm.map_count).toBe(3);
    return e;
  }

  it("the middle and the tail need a split: EAGAIN, nothing changes", () => {
    const e = full();
    e.fails(madv(e, W + 5 * PG, PG, MADV_DONTFORK), EAGAIN);
    e.fails(madv(e, W + 7 * PG, PG, MADV_DONTFORK), EAGAIN);
    e.fails(madv(e, W + 2 * PG, 4 * PG, MADV_RANDOM), EAGAIN);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "4-8 rw-p 4", "20-21 r--p 20"]);
  });

  it("a whole VMA, a merge into the left neighbour, and GUARD_INSTALL need no new VMA", () => {
    const e = full();
    e.ok(madv(e, W + 4 * PG, PG, MADV_DONTFORK));
    expect(layout(e.mm)).toEqual(["0-5 rw-p 0", "5-8 rw-p 5", "20-21 r--p 20"]);
    e.ok(madv(e, W + 5 * PG, PG, MADV_GUARD_INSTALL));
    e.ok(madv(e, W + 5 * PG, 3 * PG, MADV_DONTFORK));
    // (GUARD_INSTALL gave B an anon_vma; the merged VMA keeps it and the sticky gu.)
    expect(layout(e.mm)).toEqual(["0-8 rw-p 0 a", "20-21 r--p 20"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me gu dc ac");
    e.ok(madv(e, W + 20 * PG, PG, MADV_HUGEPAGE));
    expect(flagsAt(e.mm, W + 20 * PG)).toBe("rd mr mw me hg");
  });
});

describe("madvise: DONTNEED, DONTNEED_LOCKED, FREE", () => {
  it("DONTNEED zaps without splitting; the pages come back zero-filled with new faults", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(mc(e, W, 4)).toBe("1111");
    e.ok(madv(e, W + PG, 2 * PG, MADV_DONTNEED));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    expect(mc(e, W, 4)).toBe("1001");
    expect(anon(e)).toBe(2);
    expect(e.mm.hiwater_rss).toBe(4);
    const flt = e.t.min_flt;
    e.ok(madv(e, W, 4 * PG, MADV_POPULATE_READ));
    expect(e.t.min_flt - flt).toBe(2);
    expect(anon(e)).toBe(4);
  });

  it("on VM_LOCKED, DONTNEED/FREE/COLD/PAGEOUT/GUARD_INSTALL/REMOVE are EINVAL; DONTNEED_LOCKED works", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX | MAP_LOCKED, -1, 0));
    expect(anon(e)).toBe(2);
    for (const adv of [MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_GUARD_INSTALL, MADV_REMOVE]) {
      e.fails(madv(e, W, 2 * PG, adv), EINVAL);
    }
    expect(e.ok(madv(e, W, 2 * PG, MADV_GUARD_REMOVE))).toBe(0);
    expect(e.ok(madv(e, W, 2 * PG, MADV_WILLNEED))).toBe(0);
    expect(anon(e)).toBe(2);
    e.ok(madv(e, W, PG, MADV_DONTNEED_LOCKED));
    expect(mc(e, W, 2)).toBe("01");
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect(e.mm.locked_vm).toBe(2);
    expect(e.mm.map_count).toBe(1);
  });

  it("DONTNEED on shared memory drops the PTEs but not the pages (mincore stays 1)", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, SHANON | MAP_POPULATE, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 8 * PG, RW, MAP_SHARED | MAP_FIXED, fd, 0));
    e.ok(madv(e, W + 4 * PG, 8 * PG, MADV_POPULATE_WRITE));
    expect([shmem(e), file(e)]).toEqual([4, 8]);
    e.ok(madv(e, W, 2 * PG, MADV_DONTNEED));
    e.ok(madv(e, W + 4 * PG, 4 * PG, MADV_DONTNEED));
    expect([shmem(e), file(e)]).toEqual([2, 4]);
    expect(mc(e, W, 12)).toBe("111111111111");
  });

  it("FREE cleans the pages but keeps them mapped; after COLD they count as LazyFree", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(smaps(e, W)).toMatchObject({ rss: 16, dirty: 16, clean: 0 });
    e.ok(madv(e, W, 4 * PG, MADV_FREE));
    expect(smaps(e, W)).toMatchObject({ rss: 16, dirty: 0, clean: 16 });
    expect(mc(e, W, 4)).toBe("1111");
    expect(anon(e)).toBe(4);
    // LazyFree shows once the per-CPU lazyfree batch is drained (COLD drains it).
    e.ok(madv(e, W, 4 * PG, MADV_COLD));
    expect(smaps(e, W)).toMatchObject({ rss: 16, clean: 16, lazyfree: 16 });
  });

  // GUP with FOLL_TOUCH|FOLL_WRITE marks present writable pages dirty: the free is cancelled.
  it("POPULATE_WRITE after FREE takes no fault but re-dirties the pages (no longer lazy)", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(madv(e, W, 4 * PG, MADV_FREE));
    e.ok(madv(e, W, 4 * PG, MADV_COLD));
    const flt = e.t.min_flt;
    e.ok(madv(e, W, 4 * PG, MADV_POPULATE_WRITE));
    expect(e.t.min_flt - flt).toBe(0);
    expect(smaps(e, W)).toMatchObject({ rss: 16, dirty: 16, clean: 0, lazyfree: 0 });
  });

  it("FREE is EINVAL on a private file and on shared anon; fine where nothing was touched", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 4 * PG, RW, SHANON, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 2 * PG, RW, FIX, -1, 0));
    e.fails(madv(e, W, PG, MADV_FREE), EINVAL);
    e.fails(madv(e, W + 4 * PG, PG, MADV_FREE), EINVAL);
    expect(e.ok(madv(e, W + 8 * PG, 2 * PG, MADV_FREE))).toBe(0);
    expect(layout(e.mm)[2]).toBe("8-10 rw-p 8");
  });
});

describe("madvise: REMOVE", () => {
  it("EINVAL on private anon, EACCES on a private file or a shared mapping of an O_RDONLY fd", () => {
    const e = env();
    const { fd: ro } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, ro, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0));
    e.fails(madv(e, W, PG, MADV_REMOVE), EINVAL);
    e.fails(madv(e, W + 2 * PG, PG, MADV_REMOVE), EACCES);
    e.fails(madv(e, W + 4 * PG, PG, MADV_REMOVE), EACCES);
  });

  it("VM_LOCKED is checked before the file: a locked private file mapping is EINVAL", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_LOCKED, fd, 0));
    e.fails(madv(e, W, PG, MADV_REMOVE), EINVAL);
  });

  it("a shared PROT_READ mapping of an O_RDWR fd may punch: the pages leave the page cache", () => {
    const e = env();
    const { fd, inode } = mkfile(e, "/f", 8 * PG);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0));
    e.ok(madv(e, W, 8 * PG, MADV_POPULATE_READ));
    expect(file(e)).toBe(8);
    expect(e.ok(madv(e, W + 2 * PG, 2 * PG, MADV_REMOVE))).toBe(0);
    expect(mc(e, W, 8)).toBe("11001111");
    expect(file(e)).toBe(6);
    expect(inode.i_pages.has(2) || inode.i_pages.has(3)).toBe(false);
    expect(inode.i_size).toBe(8 * PG);
    expect(layout(e.mm)).toHaveLength(1);
  });

  it("shared anonymous memory: REMOVE frees the shmem pages", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, SHANON | MAP_POPULATE, -1, 0));
    e.ok(madv(e, W, 2 * PG, MADV_DONTNEED));
    e.ok(madv(e, W + 2 * PG, PG, MADV_REMOVE));
    expect(mc(e, W, 4)).toBe("1101");
    expect(shmem(e)).toBe(1);
    // WILLNEED without swap brings nothing back.
    e.ok(madv(e, W, 4 * PG, MADV_WILLNEED));
    expect(mc(e, W, 4)).toBe("1101");
  });
});

describe("madvise: WILLNEED, COLD, PAGEOUT", () => {
  it("WILLNEED reads exactly the file pages of the range into the page cache; RSS unchanged", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    expect(mc(e, W, 8)).toBe("00000000");
    e.ok(madv(e, W + 2 * PG, 3 * PG, MADV_WILLNEED));
    // (The kernel's readahead is asynchronous: this is mincore once the reads completed.)
    expect(mc(e, W, 8)).toBe("00111000");
    expect(e.mm.get_mm_rss()).toBe(0);
    expect(e.t.maj_flt + e.t.min_flt).toBe(0);
  });

  it("WILLNEED stops at EOF and is a no-op on private anon", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 10000, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, RW, FIX, -1, 0));
    expect(e.ok(madv(e, W, 6 * PG, MADV_WILLNEED))).toBe(0);
    expect(mc(e, W, 6)).toBe("111000");
    expect(layout(e.mm)[1]).toBe("4-6 rw-p 4");
  });

  it("PAGEOUT reclaims clean page-cache pages; anonymous pages stay without swap", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(madv(e, W, 8 * PG, MADV_POPULATE_READ));
    e.ok(madv(e, W, 4 * PG, MADV_PAGEOUT));
    expect(mc(e, W, 8)).toBe("00001111");
    expect(file(e)).toBe(4);
    e.ok(madv(e, W + 8 * PG, 4 * PG, MADV_PAGEOUT));
    expect(mc(e, W + 8 * PG, 4)).toBe("1111");
    expect(anon(e)).toBe(4);
    expect(smaps(e, W + 8 * PG)).toMatchObject({ rss: 16, dirty: 16 });
  });

  it("PAGEOUT unmaps dirty shared file pages; they stay cached", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 4 * PG);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, MAP_SHARED | MAP_FIXED, fd, 0));
    e.ok(madv(e, W, 4 * PG, MADV_POPULATE_WRITE));
    expect(file(e)).toBe(4);
    e.ok(madv(e, W, 4 * PG, MADV_PAGEOUT));
    expect(mc(e, W, 4)).toBe("1111");
    expect(file(e)).toBe(0);
  });

  it("PAGEOUT drops lazily freed anonymous pages", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(madv(e, W, 4 * PG, MADV_FREE));
    e.ok(madv(e, W, 4 * PG, MADV_PAGEOUT));
    expect(mc(e, W, 4)).toBe("0000");
    expect(anon(e)).toBe(0);
  });
});

describe("madvise: POPULATE_READ / POPULATE_WRITE", () => {
  it("one minor fault per anonymous page; nothing again for pages already there", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 100 * PG, RW, FIX, -1, 0));
    e.ok(madv(e, W, 100 * PG, MADV_POPULATE_WRITE));
    expect(e.t.min_flt).toBe(100);
    expect(anon(e)).toBe(100);
    e.ok(madv(e, W, 100 * PG, MADV_POPULATE_READ));
    e.ok(madv(e, W, 100 * PG, MADV_POPULATE_WRITE));
    expect(e.t.min_flt).toBe(100);
    expect(layout(e.mm)).toEqual(["0-100 rw-p 0 a"]);
  });

  it("no zero page here: POPULATE_READ allocates real pages that are already writable", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(madv(e, W, 4 * PG, MADV_POPULATE_READ));
    expect([e.t.min_flt, anon(e)]).toEqual([4, 4]);
    e.ok(madv(e, W, 4 * PG, MADV_POPULATE_WRITE));
    expect(e.t.min_flt).toBe(4);
  });

  it("a hole stops it with ENOMEM; pages before the hole stay populated", () => {
    //  0123 4 567
    //  AAAA . BBB
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 5 * PG, 3 * PG, RW, FIX, -1, 0));
    e.fails(madv(e, W, 8 * PG, MADV_POPULATE_READ), ENOMEM);
    expect(e.t.min_flt).toBe(4);
    expect(mc(e, W, 4) + mc(e, W + 5 * PG, 3)).toBe("1111000");
    e.fails(madv(e, W + 4 * PG, 4 * PG, MADV_POPULATE_WRITE), ENOMEM);
    expect(anon(e)).toBe(4);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a", "5-8 rw-p 5"]);
  });

  it("PROT_NONE, WRITE on read-only and READ on write-only are EINVAL; WRITE on write-only works", () => {
    //  0 1 2
    //  N R W
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, PG, PROT_NONE, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + PG, PG, PROT_READ, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, PG, PROT_WRITE, FIX, -1, 0));
    e.fails(madv(e, W, PG, MADV_POPULATE_READ), EINVAL);
    e.fails(madv(e, W, PG, MADV_POPULATE_WRITE), EINVAL);
    e.fails(madv(e, W + PG, PG, MADV_POPULATE_WRITE), EINVAL);
    e.fails(madv(e, W + 2 * PG, PG, MADV_POPULATE_READ), EINVAL);
    expect(e.ok(madv(e, W + 2 * PG, PG, MADV_POPULATE_WRITE))).toBe(0);
    expect(mc(e, W, 3)).toBe("001");
    // The read-only page is populated before the write-only VMA refuses.
    e.fails(madv(e, W + PG, 2 * PG, MADV_POPULATE_READ), EINVAL);
    expect(mc(e, W, 3)).toBe("011");
    expect(anon(e)).toBe(2);
  });

  it("files: WRITE needs VM_WRITE (EINVAL on read-only private and O_RDONLY shared); PROT_NONE EINVAL", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 4 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 4 * PG, PROT_NONE, MAP_SHARED | MAP_FIXED, fd, 0));
    e.fails(madv(e, W, PG, MADV_POPULATE_WRITE), EINVAL);
    e.fails(madv(e, W + 4 * PG, PG, MADV_POPULATE_WRITE), EINVAL);
    e.fails(madv(e, W + 8 * PG, PG, MADV_POPULATE_READ), EINVAL);
    expect(e.mm.get_mm_rss()).toBe(0);
  });

  it("a private writable file mapping: POPULATE_WRITE copies every page (one fault each)", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(madv(e, W, 8 * PG, MADV_WILLNEED));
    e.ok(madv(e, W, 8 * PG, MADV_POPULATE_WRITE));
    expect(e.t.min_flt).toBe(8);
    expect([anon(e), file(e)]).toEqual([8, 0]);
    expect(layout(e.mm)).toEqual([`0-8 rw-p ${FO} a`]);
  });

  it("cached file pages: one fault maps them all (fault-around)", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(madv(e, W, 8 * PG, MADV_WILLNEED));
    e.ok(madv(e, W, 8 * PG, MADV_POPULATE_READ));
    expect([e.t.min_flt, e.t.maj_flt]).toEqual([1, 0]);
    expect(file(e)).toBe(8);
  });

  it("beyond EOF: EFAULT, the pages before EOF are populated", () => {
    //  file of 10000 bytes = 3 pages, mapped over 4
    const e = env();
    const { fd } = mkfile(e, "/f", 10000, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.fails(madv(e, W, 4 * PG, MADV_POPULATE_READ), EFAULT);
    expect(file(e)).toBe(3);
    expect(mc(e, W, 4)).toBe("1110");
    e.fails(madv(e, W + 3 * PG, PG, MADV_POPULATE_READ), EFAULT);
  });

  it("uncached file pages: one major fault and no minor fault", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(madv(e, W, 8 * PG, MADV_POPULATE_READ));
    expect(file(e)).toBe(8);
    expect([e.t.maj_flt, e.t.min_flt]).toEqual([1, 0]);
  });
});

describe("madvise: COLLAPSE", () => {
  it("EINVAL on a VMA too small for a huge page", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.fails(madv(e, W, 4 * PG, MADV_COLLAPSE), EINVAL);
  });

  it("an untouched VMA: an aligned 2 MiB with nothing present is EINVAL", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 1024 * PG, RW, FIX, -1, 0));
    e.fails(madv(e, W, 512 * PG, MADV_COLLAPSE), EINVAL);
    expect(e.mm.get_mm_rss()).toBe(0);
  });

  it("an untouched VMA: even a range with no whole 2 MiB is EINVAL", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 1024 * PG, RW, FIX, -1, 0));
    e.fails(madv(e, W, PG, MADV_COLLAPSE), EINVAL);
  });

  it("EINVAL with NOHUGEPAGE and on a private file mapping", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 1024 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(madv(e, W, 1024 * PG, MADV_NOHUGEPAGE));
    e.fails(madv(e, W, 512 * PG, MADV_COLLAPSE), EINVAL);
    e.fails(madv(e, W, PG, MADV_COLLAPSE), EINVAL);
    e.ok(sys_mmap(e.m, e.t, W + 1024 * PG, 1024 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.fails(madv(e, W + 1024 * PG, PG, MADV_COLLAPSE), EINVAL);
  });

  it("in an eligible VMA (4 MiB, populated): a small range is 0, an aligned 2 MiB collapses", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 1024 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(e.ok(madv(e, W, PG, MADV_COLLAPSE))).toBe(0);
    expect(e.ok(madv(e, W, 512 * PG, MADV_COLLAPSE))).toBe(0);
    expect(anon(e)).toBe(1024);
    expect(layout(e.mm)).toEqual(["0-1024 rw-p 0 a"]);
  });
});

describe("madvise: GUARD_INSTALL / GUARD_REMOVE", () => {
  it("install zaps the pages, does not split, adds gu; populate over a guard is EFAULT", () => {
    //  01gg4567
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(madv(e, W + 2 * PG, 2 * PG, MADV_GUARD_INSTALL));
    expect(layout(e.mm)).toEqual(["0-8 rw-p 0 a"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me gu ac");
    expect(mc(e, W, 8)).toBe("11001111");
    expect(anon(e)).toBe(6);
    const flt = e.t.min_flt;
    e.fails(madv(e, W, 8 * PG, MADV_POPULATE_READ), EFAULT);
    expect(e.t.min_flt).toBe(flt);
  });

  it("guards survive DONTNEED; after GUARD_REMOVE the range populates again and gu stays", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(madv(e, W + 2 * PG, 2 * PG, MADV_GUARD_INSTALL));
    e.ok(madv(e, W, 8 * PG, MADV_DONTNEED));
    expect(anon(e)).toBe(0);
    let flt = e.t.min_flt;
    e.fails(madv(e, W, 8 * PG, MADV_POPULATE_WRITE), EFAULT);
    expect(e.t.min_flt - flt).toBe(2);
    expect(mc(e, W, 8)).toBe("11000000");
    e.ok(madv(e, W, 8 * PG, MADV_GUARD_REMOVE));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me gu ac");
    flt = e.t.min_flt;
    e.ok(madv(e, W, 8 * PG, MADV_POPULATE_WRITE));
    expect(e.t.min_flt - flt).toBe(6);
    expect(anon(e)).toBe(8);
  });

  it("gu is sticky across splits and merges: mprotect and an adjacent mmap merge back", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(madv(e, W + 2 * PG, 2 * PG, MADV_GUARD_INSTALL));
    e.ok(sys_mprotect(e.m, e.t, W, PG, PROT_READ));
    expect(layout(e.mm)).toEqual(["0-1 r--p 0 a", "1-8 rw-p 1 a"]);
    expect(flagsAt(e.mm, W)).toBe("rd mr mw me gu ac");
    e.ok(sys_mprotect(e.m, e.t, W, PG, RW));
    expect(layout(e.mm)).toEqual(["0-8 rw-p 0 a"]);
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 2 * PG, RW, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["0-10 rw-p 0 a"]);
    expect(flagsAt(e.mm, W + 9 * PG)).toBe("rd wr mr mw me gu ac");
  });

  it("allowed on unpopulated anon, private file, shared anon and PROT_NONE", () => {
    const e = env();
    const { fd } = mkfile(e, "/f", 8 * PG, O_RDONLY);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 4 * PG, RW, SHANON, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 12 * PG, 4 * PG, PROT_NONE, FIX, -1, 0));
    for (const a of [W, W + 4 * PG, W + 8 * PG, W + 12 * PG]) e.ok(madv(e, a, PG, MADV_GUARD_INSTALL));
    expect([W, W + 4 * PG, W + 8 * PG, W + 12 * PG].map((a) => flagsAt(e.mm, a))).toEqual([
      "rd wr mr mw me gu ac",
      "rd mr mw me gu",
      "rd wr sh mr mw me ms gu",
      "mr mw me gu",
    ]);
    expect(e.mm.map_count).toBe(4);
    expect(e.mm.get_mm_rss()).toBe(0);
  });

  it("mlock over a guard: ENOMEM (populate fails) but the VMA stays locked", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(madv(e, W, PG, MADV_GUARD_INSTALL));
    e.fails(sys_mlock(e.m, e.t, W, 4 * PG), ENOMEM);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me gu lo ac");
    // (GUARD_INSTALL gave the VMA an anon_vma; nothing was populated.)
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    expect(e.mm.get_mm_rss()).toBe(0);
  });
});

describe("madvise: HWPOISON / SOFT_OFFLINE", () => {
  // With CONFIG_MEMORY_FAILURE (stock distribution kernels; mm/madvise.c madvise_inject_error):
  // CAP_SYS_ADMIN is checked after the global checks and before any VMA lookup.
  it("with CONFIG_MEMORY_FAILURE: EPERM without CAP_SYS_ADMIN, even on a hole; len 0 is 0", () => {
    const e = env({ profile: { memoryFailure: true } });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.fails(madv(e, W, PG, MADV_HWPOISON), EPERM);
    e.fails(madv(e, W, PG, MADV_SOFT_OFFLINE), EPERM);
    e.fails(madv(e, W + 8 * PG, PG, MADV_HWPOISON), EPERM);
    e.fails(madv(e, W + 1, PG, MADV_HWPOISON), EINVAL);
    e.fails(madv(e, W, -PG, MADV_SOFT_OFFLINE), EINVAL);
    expect(e.ok(madv(e, W, 0, MADV_HWPOISON))).toBe(0);
    expect(anon(e)).toBe(4);
  });

  it("without it (this machine's kernel): unknown advices, EINVAL even with len 0 or as root", () => {
    const e = env({ profile: { memoryFailure: false }, spawn: { caps: { CAP_SYS_ADMIN: true } } });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.fails(madv(e, W, PG, MADV_HWPOISON), EINVAL);
    e.fails(madv(e, W, 0, MADV_HWPOISON), EINVAL);
    e.fails(madv(e, W + 8 * PG, PG, MADV_SOFT_OFFLINE), EINVAL);
    expect(anon(e)).toBe(4);
  });
});
