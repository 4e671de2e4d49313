/**
 * mincore(2) against Linux 6.18 (mm/mincore.c). Expectations were printed by C probes on this
 * machine's kernel (no zero page; ext4 files with their page cache dropped first). A vector is
 * written as a "0110" string; on ENOMEM after a hole, `.partial` holds what the kernel wrote to
 * the user buffer before failing.
 */
import { describe, expect, it } from "vitest";
import { EINVAL, ENOMEM } from "../../../src/core/abi/errno.js";
import {
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_WILLNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
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
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { MM_ANONPAGES } from "../../../src/core/mm/types.js";
import { type Env, env, PG, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const FIX = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

/** mincore over `len` bytes; the vector as a string (the call must succeed). */
function mc(e: Env, addr: number, len: number): string {
  return [...e.ok(sys_mincore(e.m, e.t, addr, len))].join("");
}

/** The ENOMEM result of a mincore that hits a hole: the entries written before it. */
function partial(e: Env, addr: number, len: number): string | undefined {
  const r = sys_mincore(e.m, e.t, addr, len);
  e.fails(r, ENOMEM);
  return r.partial ? [...r.partial].join("") : undefined;
}

function madv(e: Env, addr: number, len: number, advice: number) {
  return e.ok(sys_madvise(e.m, e.t, addr, len, advice));
}

function openFile(e: Env, path: string, size: number, flags = O_RDONLY): number {
  if (!e.m.fs.lookup(path)) e.m.fs.create(path, size);
  return e.ok(sys_open(e.m, e.t, path, flags));
}

describe("mincore: argument checks", () => {
  it("an unaligned start is EINVAL first: with len 0, with a huge len", () => {
    const e = env();
    e.fails(sys_mincore(e.m, e.t, W + 1, PG), EINVAL);
    e.fails(sys_mincore(e.m, e.t, W + 1, 0), EINVAL);
    e.fails(sys_mincore(e.m, e.t, W + 1, -1), EINVAL);
    e.fails(sys_mincore(e.m, e.t, W + 0x800, 1 << 30), EINVAL);
  });

  it("access_ok(start, len): an end past TASK_SIZE or a wrap is ENOMEM, even with len 0", () => {
    const e = env();
    e.fails(sys_mincore(e.m, e.t, W, -1), ENOMEM);
    e.fails(sys_mincore(e.m, e.t, W, 2 ** 47), ENOMEM);
    e.fails(sys_mincore(e.m, e.t, TASK_SIZE, 1), ENOMEM);
    e.fails(sys_mincore(e.m, e.t, 0x800000000000, 0), ENOMEM);
    e.fails(sys_mincore(e.m, e.t, -PG, 0), ENOMEM);
    // len 0 inside the user range returns 0 with nothing written, even on a hole.
    expect(mc(e, W, 0)).toBe("");
    expect(mc(e, TASK_SIZE, 0)).toBe("");
  });

  it("at the top of the address space: access_ok fails before the walk (nothing written)", () => {
    //  TASK_SIZE-8 .. TASK_SIZE:  AAAA....
    const e = env();
    const top = TASK_SIZE - 8 * PG;
    e.ok(sys_mmap(e.m, e.t, top, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(partial(e, top, 8 * PG)).toBe("1111");
    expect(partial(e, top, 8 * PG + 1)).toBeUndefined();
    expect(mc(e, top, 4 * PG - 1)).toBe("1111");
  });
});

describe("mincore: holes", () => {
  it("the vector is written up to a hole, then ENOMEM", () => {
    //  0123 4 567
    //  AAAA . BBB
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 5 * PG, 3 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(partial(e, W, 8 * PG)).toBe("1111");
    expect(partial(e, W + 4 * PG, 4 * PG)).toBe("");
    expect(partial(e, W + 6 * PG, 4 * PG)).toBe("11");
    expect(partial(e, W + 8 * PG, PG)).toBe("");
    expect(mc(e, W + 5 * PG, 3 * PG)).toBe("111");
  });

  it("a hole before the first VMA: nothing written", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W + PG, 2 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(partial(e, W, 3 * PG)).toBe("");
    expect(partial(e, W + PG, 3 * PG)).toBe("11");
  });
});

describe("mincore: anonymous memory", () => {
  it("1 where a page is mapped: after populate, not after DONTNEED; len rounds up", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, FIX, -1, 0));
    expect(mc(e, W, 8 * PG)).toBe("00000000");
    madv(e, W + 2 * PG, 3 * PG, MADV_POPULATE_WRITE);
    expect(mc(e, W, 8 * PG)).toBe("00111000");
    madv(e, W + 3 * PG, PG, MADV_DONTNEED);
    expect(mc(e, W, 8 * PG)).toBe("00101000");
    expect(mc(e, W + 2 * PG, 1)).toBe("1");
    expect(mc(e, W + 4 * PG, PG + 1)).toBe("10");
  });

  it("PROT_NONE is walked like any VMA; guard markers are not resident", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, PROT_NONE, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 4 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    madv(e, W + 5 * PG, 2 * PG, MADV_GUARD_INSTALL);
    expect(mc(e, W, 8 * PG)).toBe("00001001");
  });

  it("several VMAs and more than 4096 pages in one call", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 5000 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 5000 * PG, 100 * PG, PROT_READ, FIX | MAP_POPULATE, -1, 0));
    madv(e, W + 4095 * PG, 2 * PG, MADV_POPULATE_WRITE);
    const v = e.ok(sys_mincore(e.m, e.t, W, 5100 * PG));
    expect(v.length).toBe(5100);
    expect(v.reduce((a, b) => a + b, 0)).toBe(102);
    expect([v[4094], v[4095], v[4096], v[4097], v[4999], v[5000], v[5099]]).toEqual([0, 1, 1, 0, 0, 1, 1]);
  });

  it("stock kernel: a read maps the zero page, resident for mincore but not in RSS", () => {
    const e = env({ profile: { zeroPage: true } });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    madv(e, W, 4 * PG, MADV_POPULATE_READ);
    expect(mc(e, W, 4 * PG)).toBe("1111");
    expect(e.mm.rss_stat[MM_ANONPAGES]).toBe(0);
    expect(e.t.min_flt).toBe(4);
    // The first write to each takes a (COW) fault of its own.
    madv(e, W, 4 * PG, MADV_POPULATE_WRITE);
    expect(e.t.min_flt).toBe(8);
    expect(e.mm.rss_stat[MM_ANONPAGES]).toBe(4);
    expect(mc(e, W, 4 * PG)).toBe("1111");
  });

  it("this machine (no zero page): the read allocates a real page", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, PROT_READ, FIX, -1, 0));
    madv(e, W, 2 * PG, MADV_POPULATE_READ);
    expect(mc(e, W, 4 * PG)).toBe("1100");
    expect(e.mm.rss_stat[MM_ANONPAGES]).toBe(2);
  });
});

describe("mincore: file and shared memory report the page cache", () => {
  it("pages cached through another mapping count, whatever this mapping's protection", () => {
    //  0-8: PROT_NONE shared mapping of f;  8-16: private read-only mapping of f
    const e = env();
    const fd = openFile(e, "/f", 8 * PG);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, PROT_NONE, MAP_SHARED | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    expect(mc(e, W, 16 * PG)).toBe("0000000000000000");
    madv(e, W + 9 * PG, 2 * PG, MADV_WILLNEED);
    expect(mc(e, W, 16 * PG)).toBe("0110000001100000");
    expect(e.mm.get_mm_rss()).toBe(0);
    // Without read-around (RANDOM) a populate reads just the faulting pages, each a major fault.
    madv(e, W + 8 * PG, 8 * PG, MADV_RANDOM);
    madv(e, W + 13 * PG, 2 * PG, MADV_POPULATE_READ);
    expect(mc(e, W, 16 * PG)).toBe("0110011001100110");
    expect([e.t.maj_flt, e.t.min_flt]).toEqual([2, 0]);
  });

  it("a COW copy in a private mapping is resident; guard markers fall back to the page cache", () => {
    //  0123 4567   cached 0-3 (WILLNEED), COW page 0, guards over 2-5
    const e = env();
    const fd = openFile(e, "/f", 8 * PG);
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, MAP_PRIVATE | MAP_FIXED, fd, 0));
    madv(e, W, 4 * PG, MADV_WILLNEED);
    expect(mc(e, W, 8 * PG)).toBe("11110000");
    madv(e, W, PG, MADV_POPULATE_WRITE);
    expect([e.t.min_flt, e.t.maj_flt]).toEqual([1, 0]);
    madv(e, W + 2 * PG, 4 * PG, MADV_GUARD_INSTALL);
    expect(mc(e, W, 8 * PG)).toBe("11110000");
    expect(e.mm.rss_stat[MM_ANONPAGES]).toBe(1);
  });

  it("pages beyond EOF are never resident", () => {
    const e = env();
    const fd = openFile(e, "/small", 10000);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    madv(e, W, 4 * PG, MADV_WILLNEED);
    expect(mc(e, W, 4 * PG)).toBe("1110");
  });

  it("shared anonymous memory: resident while in shmem, not after REMOVE", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    expect(mc(e, W, 4 * PG)).toBe("0000");
    madv(e, W, 3 * PG, MADV_POPULATE_WRITE);
    madv(e, W, PG, MADV_DONTNEED);
    madv(e, W + PG, PG, MADV_REMOVE);
    expect(mc(e, W, 4 * PG)).toBe("1010");
  });

  it("a shared file mapping: REMOVE punches the cache, DONTNEED keeps it", () => {
    const e = env();
    const fd = openFile(e, "/rw", 4 * PG, O_RDWR);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, MAP_SHARED | MAP_FIXED, fd, 0));
    madv(e, W, 4 * PG, MADV_POPULATE_WRITE);
    madv(e, W, 2 * PG, MADV_DONTNEED);
    madv(e, W + 3 * PG, PG, MADV_REMOVE);
    expect(mc(e, W, 4 * PG)).toBe("1110");
  });
});
