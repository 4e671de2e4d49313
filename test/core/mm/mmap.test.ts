/**
 * mmap/munmap in the style of tools/testing/vma: a picture of the window (one column per page),
 * one call, exact VMAs, then validate_mm() (done by the env on every call).
 */
import { describe, expect, it } from "vitest";
import {
  EACCES,
  EBADF,
  EEXIST,
  EINVAL,
  ENODEV,
  ENOMEM,
  EOPNOTSUPP,
  EPERM,
} from "../../../src/core/abi/errno.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_mmap, sys_munmap } from "../../../src/core/mm/mmap.js";
import { sys_mprotect } from "../../../src/core/mm/mprotect.js";
import { env, flagsAt, layout, PG, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const FIX = ANON | MAP_FIXED;

describe("mmap: placement", () => {
  it("top-down placement below mmap_base, consecutive mappings merge (T21)", () => {
    const e = env();
    const base = e.mm.mmap_base;
    expect(base).toBe(0x7ffff7fff000);
    const a = e.ok(sys_mmap(e.m, e.t, 0, 2 * PG, RW, ANON, -1, 0));
    const b = e.ok(sys_mmap(e.m, e.t, 0, 2 * PG, RW, ANON, -1, 0));
    expect(a).toBe(base - 2 * PG);
    expect(b).toBe(base - 4 * PG);
    expect(e.mm.map_count).toBe(1);
    expect(layout(e.mm, base - 4 * PG)).toEqual(["0-4 rw-p 0"]);
  });

  it("2 MiB anonymous mappings are 2 MiB aligned; 2 MiB + 1 page are not", () => {
    const e = env();
    const a = e.ok(sys_mmap(e.m, e.t, 0, 2 << 20, RW, ANON, -1, 0));
    expect(a % (2 << 20)).toBe(0);
    expect(a).toBe(0x7ffff7c00000);
    const b = e.ok(sys_mmap(e.m, e.t, 0, (2 << 20) + PG, RW, ANON, -1, 0));
    expect(b % (2 << 20)).not.toBe(0);
  });

  it("a free hint is honoured; an occupied one falls back to top-down", () => {
    const e = env();
    expect(e.ok(sys_mmap(e.m, e.t, W, PG, RW, ANON, -1, 0))).toBe(W);
    expect(e.ok(sys_mmap(e.m, e.t, W, PG, RW, ANON, -1, 0))).toBe(e.mm.mmap_base - PG);
  });

  it("hints below mmap_min_addr are raised to 64 KiB; tiny hints are no hint", () => {
    const e = env();
    expect(e.ok(sys_mmap(e.m, e.t, 0x1000, PG, RW, ANON, -1, 0))).toBe(0x10000);
    expect(e.ok(sys_mmap(e.m, e.t, 0x10, PG, RW, ANON, -1, 0))).toBe(e.mm.mmap_base - PG);
    expect(e.ok(sys_mmap(e.m, e.t, 0x10000001, PG, RW, ANON, -1, 0))).toBe(0x10000000);
  });

  it("legacy layout places bottom-up from TASK_UNMAPPED_BASE", () => {
    const e = env({ profile: { legacyVaLayout: true } });
    expect(e.ok(sys_mmap(e.m, e.t, 0, PG, RW, ANON, -1, 0))).toBe(0x2aaaaaaab000);
  });
});

describe("mmap: MAP_FIXED and merging", () => {
  it("T12: MAP_FIXED over the middle with identical attributes leaves one VMA", () => {
    //  0123
    //  AAAA   then FIXED over 1-2
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + PG, 2 * PG, RW, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
  });

  it("MAP_FIXED with other attributes splits in three", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + PG, 2 * PG, PROT_READ, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0", "1-3 r--p 1", "3-4 rw-p 3"]);
  });

  it("T8: MAP_NORESERVE does not merge with normal rw anon", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, FIX | MAP_NORESERVE, -1, 0));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 rw-p 2"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd wr mr mw me nr");
  });

  it("T3: a new mapping next to a touched one merges", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
  });

  it("MAP_STACK sets VM_NOHUGEPAGE and so does not merge with plain anon", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, FIX | MAP_STACK, -1, 0));
    expect(e.mm.map_count).toBe(2);
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd wr mr mw me ac nh");
  });

  it("MAP_GROWSDOWN counts in stack_vm; two adjacent ones merge (T15)", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX | MAP_GROWSDOWN, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, FIX | MAP_GROWSDOWN, -1, 0));
    expect(e.mm.map_count).toBe(1);
    expect(e.mm.stack_vm).toBe(4);
    expect(e.mm.data_vm).toBe(0);
  });

  it("MAP_FIXED_NOREPLACE: EEXIST on any overlap, fine when adjacent", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, FIX, -1, 0));
    for (const [a, l] of [
      [W + 2 * PG, 2 * PG],
      [W + PG, 2 * PG],
      [W + 3 * PG, 2 * PG],
      [W, 8 * PG],
    ] as const) {
      e.fails(sys_mmap(e.m, e.t, a, l, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    }
    expect(e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0))).toBe(W);
  });

  it("shared anonymous mappings never merge (T11) and have pgoff 0", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    expect(layout(e.mm)).toEqual([`0-2 rw-s ${-W / PG}`, `2-4 rw-s ${-W / PG}`]);
    expect(flagsAt(e.mm, W)).toBe("rd wr sh mr mw me ms");
  });
});

describe("mmap: errno in Linux's check order", () => {
  it("len 0, unaligned offset, huge lengths", () => {
    const e = env();
    e.fails(sys_mmap(e.m, e.t, 0, 0, RW, ANON, -1, 0), EINVAL);
    e.fails(sys_mmap(e.m, e.t, 0, PG, RW, ANON, -1, 1), EINVAL);
    e.fails(sys_mmap(e.m, e.t, 0, -1, RW, ANON, -1, 0), ENOMEM);
    e.fails(sys_mmap(e.m, e.t, 0, TASK_SIZE + PG, RW, ANON, -1, 0), ENOMEM);
    // offset alignment is checked before the fd
    e.fails(sys_mmap(e.m, e.t, 0, PG, RW, MAP_PRIVATE, 99, 1), EINVAL);
    e.fails(sys_mmap(e.m, e.t, 0, PG, RW, MAP_PRIVATE, 99, 0), EBADF);
  });

  it("bad types: no type, SHARED_VALIDATE on anon", () => {
    const e = env();
    e.fails(sys_mmap(e.m, e.t, 0, PG, RW, MAP_ANONYMOUS, -1, 0), EINVAL);
    e.fails(sys_mmap(e.m, e.t, 0, PG, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    e.fails(sys_mmap(e.m, e.t, 0, PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0), EINVAL);
  });

  it("MAP_FIXED: unaligned EINVAL, beyond TASK_SIZE ENOMEM, below mmap_min_addr EPERM", () => {
    const e = env();
    e.fails(sys_mmap(e.m, e.t, W + 1, PG, RW, FIX, -1, 0), EINVAL);
    e.fails(sys_mmap(e.m, e.t, W + 1, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), EINVAL);
    e.fails(sys_mmap(e.m, e.t, TASK_SIZE, PG, RW, FIX, -1, 0), ENOMEM);
    expect(e.ok(sys_mmap(e.m, e.t, TASK_SIZE - PG, PG, RW, FIX, -1, 0))).toBe(TASK_SIZE - PG);
    e.fails(sys_mmap(e.m, e.t, 0, PG, RW, FIX, -1, 0), EPERM);
    expect(e.ok(sys_mmap(e.m, e.t, 0x1000, PG, RW, FIX, -1, 0))).toBe(0x1000);
  });

  it("CAP_SYS_RAWIO may map page 0", () => {
    const e = env({ spawn: { caps: { CAP_SYS_RAWIO: true } } });
    expect(e.ok(sys_mmap(e.m, e.t, 0, PG, RW, FIX, -1, 0))).toBe(0);
  });

  it("file mappings: EACCES, ENODEV, EOPNOTSUPP, and a failed FIXED leaves the old mapping intact", () => {
    const e = env();
    e.m.fs.create("/data", 3 * PG);
    e.m.fs.mkdir("/dir");
    const ro = e.ok(sys_open(e.m, e.t, "/data", O_RDONLY));
    const wo = e.ok(sys_open(e.m, e.t, "/data", O_WRONLY));
    const rw = e.ok(sys_open(e.m, e.t, "/data", O_RDWR));
    const dir = e.ok(sys_open(e.m, e.t, "/dir", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.fails(sys_mmap(e.m, e.t, W, PG, RW, MAP_SHARED | MAP_FIXED, ro, 0), EACCES);
    e.fails(sys_mmap(e.m, e.t, W, PG, PROT_NONE, MAP_PRIVATE | MAP_FIXED, wo, 0), EACCES);
    e.fails(sys_mmap(e.m, e.t, W, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, dir, 0), ENODEV);
    e.fails(
      sys_mmap(e.m, e.t, W, PG, PROT_READ, MAP_SHARED_VALIDATE | 0x800000 | MAP_FIXED, rw, 0),
      EOPNOTSUPP,
    );
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0"]);
    // A read-only shared mapping of an O_RDONLY fd loses VM_MAYWRITE and VM_SHARED.
    const a = e.ok(sys_mmap(e.m, e.t, 0, PG, PROT_READ, MAP_SHARED, ro, 0));
    expect(flagsAt(e.mm, a)).toBe("rd mr me ms");
    e.fails(sys_mprotect(e.m, e.t, a, PG, RW), EACCES);
  });

  it("max_map_count: mmap tests >, so map_count can reach max+1", () => {
    const e = env({ profile: { maxMapCount: 4 } });
    for (let i = 0; i < 5; i++) e.ok(sys_mmap(e.m, e.t, W + 2 * i * PG, PG, RW, FIX, -1, 0));
    expect(e.mm.map_count).toBe(5);
    e.fails(sys_mmap(e.m, e.t, W + 20 * PG, PG, RW, FIX, -1, 0), ENOMEM);
    // Even one that would merge is refused.
    e.fails(sys_mmap(e.m, e.t, W + PG, PG, RW, FIX, -1, 0), ENOMEM);
  });

  it("RLIMIT_AS and RLIMIT_DATA (with the Valgrind exception)", () => {
    const e = env({ spawn: { rlimits: { AS: 4 * PG } } });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.fails(sys_mmap(e.m, e.t, W + 8 * PG, PG, RW, FIX, -1, 0), ENOMEM);
    // Replacing pages does not count twice.
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, PROT_READ, FIX, -1, 0));
    const d = env({ spawn: { rlimits: { DATA: 2 * PG } } });
    d.fails(sys_mmap(d.m, d.t, W, 3 * PG, RW, FIX, -1, 0), ENOMEM);
    d.ok(sys_mmap(d.m, d.t, W, 3 * PG, PROT_READ, FIX, -1, 0));
    const v = env({ spawn: { rlimits: { DATA: 0 } } });
    v.ok(sys_mmap(v.m, v.t, W, 3 * PG, RW, FIX, -1, 0));
  });

  it("overcommit heuristic: one request larger than RAM + swap is refused", () => {
    const e = env();
    e.fails(sys_mmap(e.m, e.t, 0, 64 * 2 ** 30, RW, ANON, -1, 0), ENOMEM);
    e.ok(sys_mmap(e.m, e.t, 0, 20 * 2 ** 30, RW, ANON, -1, 0));
    e.ok(sys_mmap(e.m, e.t, 0, 20 * 2 ** 30, RW, ANON, -1, 0));
    e.ok(sys_mmap(e.m, e.t, 0, 64 * 2 ** 30, RW, ANON | MAP_NORESERVE, -1, 0));
    e.fails(sys_mmap(e.m, e.t, 0, 64 * 2 ** 30, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0), ENOMEM);
  });

  it("overcommit never (mode 2): CommitLimit counts", () => {
    const e = env({
      profile: { overcommitMemory: 2, ramBytes: 64 * PG * 100, swapBytes: 0, overcommitRatio: 50 },
    });
    e.ok(sys_mmap(e.m, e.t, 0, 1000 * PG, RW, ANON, -1, 0));
    e.fails(sys_mmap(e.m, e.t, 0, 3000 * PG, RW, ANON, -1, 0), ENOMEM);
    // NORESERVE is not honoured in mode 2.
    e.fails(sys_mmap(e.m, e.t, 0, 3000 * PG, RW, ANON | MAP_NORESERVE, -1, 0), ENOMEM);
    // Read-only private mappings are not charged.
    e.ok(sys_mmap(e.m, e.t, 0, 3000 * PG, PROT_READ, ANON, -1, 0));
  });
});

describe("munmap", () => {
  it("errno: unaligned, len 0, beyond TASK_SIZE; unmapped range is fine", () => {
    const e = env();
    e.fails(sys_munmap(e.m, e.t, W + 1, PG), EINVAL);
    e.fails(sys_munmap(e.m, e.t, W, 0), EINVAL);
    e.fails(sys_munmap(e.m, e.t, W, -1), EINVAL);
    e.fails(sys_munmap(e.m, e.t, TASK_SIZE, PG), EINVAL);
    e.fails(sys_munmap(e.m, e.t, TASK_SIZE - PG, 2 * PG), EINVAL);
    expect(e.ok(sys_munmap(e.m, e.t, W, PG))).toBe(0);
    expect(e.ok(sys_munmap(e.m, e.t, 0, PG))).toBe(0);
  });

  it("middle, head and tail; remnants never merge back; hiwater_vm keeps the peak", () => {
    //  01234567
    //  AAAAAAAA  munmap 3-4  ->  AAA  AAA...
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, FIX, -1, 0));
    e.ok(sys_munmap(e.m, e.t, W + 3 * PG, 2 * PG));
    expect(layout(e.mm)).toEqual(["0-3 rw-p 0", "5-8 rw-p 5"]);
    e.ok(sys_munmap(e.m, e.t, W, PG));
    e.ok(sys_munmap(e.m, e.t, W + 7 * PG, 1));
    expect(layout(e.mm)).toEqual(["1-3 rw-p 1", "5-7 rw-p 5"]);
    expect(e.mm.total_vm).toBe(4);
    expect(e.mm.hiwater_vm).toBe(8);
    // T17: re-mapping the hole (untouched) gives one VMA again.
    e.ok(sys_mmap(e.m, e.t, W + 3 * PG, 2 * PG, RW, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["1-7 rw-p 1"]);
  });

  it("a 3-way split at max_map_count is ENOMEM; head and tail trims are fine", () => {
    const e = env({ profile: { maxMapCount: 3 } });
    for (let i = 0; i < 3; i++) e.ok(sys_mmap(e.m, e.t, W + 10 * i * PG, 4 * PG, RW, FIX, -1, 0));
    e.fails(sys_munmap(e.m, e.t, W + PG, PG), ENOMEM);
    e.ok(sys_munmap(e.m, e.t, W, PG));
    e.ok(sys_munmap(e.m, e.t, W + 3 * PG, PG));
    expect(layout(e.mm)[0]).toBe("1-3 rw-p 1");
  });

  it("unmapping a populated range frees its pages and page tables", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 600 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(e.mm.rss_stat[1]).toBe(600);
    expect(e.t.min_flt).toBe(600);
    expect(e.mm.pgd.nr_ptes).toBe(2);
    e.ok(sys_munmap(e.m, e.t, W, 600 * PG));
    expect(e.mm.rss_stat[1]).toBe(0);
    expect(e.mm.hiwater_rss).toBe(600);
    expect(e.mm.pgd.nr_ptes).toBe(0);
    expect(e.m.frames.nr_used).toBe(0);
  });
});
