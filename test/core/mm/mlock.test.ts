/**
 * mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2) in the style of tools/testing/vma:
 * a picture of the window (one column per page), one call, exact VMAs and counters. Every
 * expectation was printed by the real kernel (6.18.44, this machine's profile) running the same
 * call sequence through raw syscall(); "unprivileged" is a child that dropped to uid 65534.
 */
import { describe, expect, it } from "vitest";
import { EAGAIN, EINVAL, ENOMEM, EPERM } from "../../../src/core/abi/errno.js";
import {
  MAP_ANONYMOUS,
  MAP_DROPPABLE,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  MLOCK_ONFAULT,
  O_RDONLY,
  O_RDWR,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_mincore } from "../../../src/core/mm/mincore.js";
import {
  sys_mlock,
  sys_mlock2,
  sys_mlockall,
  sys_munlock,
  sys_munlockall,
} from "../../../src/core/mm/mlock.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES } from "../../../src/core/mm/types.js";
import {
  cachedFile,
  type Env,
  type EnvOptions,
  env,
  fillTo,
  flagsAt,
  layout,
  PG,
  W,
  win,
} from "../helpers.js";

const R = PROT_READ;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const FIX = ANON | MAP_FIXED;
/** The layout() pgoff column of a file VMA at file offset 0 (pgoffs are printed relative to W). */
const F0 = -W / PG;

function resident(e: Env, addr: number, pages: number): number[] {
  const r = sys_mincore(e.m, e.t, addr, pages * PG);
  return Array.from(r.ok ? r.value : r.partial!);
}

/** [0,4) rw, a hole at 4, [5,8) rw. */
function holeWindow(o: EnvOptions = {}): Env {
  const e = env(o);
  e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
  e.ok(sys_mmap(e.m, e.t, W + 5 * PG, 3 * PG, RW, FIX, -1, 0));
  return e;
}

describe("mlock: lock, populate, split and merge", () => {
  it("T14: mlock of the middle splits in three and populates it; munlock merges back, pages stay", () => {
    //  0123
    //  AAAA   mlock(1, 2) -> A LL A -> munlock -> AAAA
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    expect(e.ok(sys_mlock(e.m, e.t, W + PG, 2 * PG))).toBe(0);
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0", "1-3 rw-p 1 a", "3-4 rw-p 3"]);
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.t.min_flt]).toEqual([2, 2, 2]);
    expect(resident(e, W, 4)).toEqual([0, 1, 1, 0]);
    expect(e.ok(sys_munlock(e.m, e.t, W + PG, 2 * PG))).toBe(0);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.t.min_flt]).toEqual([0, 2, 2]);
    expect(resident(e, W, 4)).toEqual([0, 1, 1, 0]);
  });

  it("no alignment check: an unaligned start widens the range to whole pages", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    // [PG+1, 2PG+1) touches pages 1 and 2.
    e.ok(sys_mlock(e.m, e.t, W + PG + 1, PG));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0", "1-3 rw-p 1 a", "3-4 rw-p 3"]);
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([2, 2]);
    // One byte inside page 2 unlocks page 2, which merges with page 3.
    e.ok(sys_munlock(e.m, e.t, W + 2 * PG + 100, 1));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0", "1-2 rw-p 1 a", "2-4 rw-p 2 a"]);
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr mr mw me lo ac");
    expect(e.mm.locked_vm).toBe(1);
    // len + offset wraps: (-2) + 5 = 3 bytes, so page 0 is locked (and merges with page 1).
    e.ok(sys_mlock(e.m, e.t, W + 5, -2));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0 a", "2-4 rw-p 2 a"]);
    expect([e.mm.locked_vm, e.t.min_flt, e.mm.rss_stat[MM_ANONPAGES]]).toEqual([2, 3, 3]);
  });

  it("lengths that round to 0 are no-ops; a wrapping range is EINVAL (with CAP_IPC_LOCK) or ENOMEM", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    // PAGE_ALIGN(-1) and PAGE_ALIGN(-1 + 1) are 0.
    expect(e.ok(sys_mlock(e.m, e.t, W, -1))).toBe(0);
    expect(e.ok(sys_mlock(e.m, e.t, W + 1, -1))).toBe(0);
    expect(e.ok(sys_mlock(e.m, e.t, W + 8 * PG, 0))).toBe(0);
    expect(e.ok(sys_munlock(e.m, e.t, W, -1))).toBe(0);
    expect(e.ok(sys_munlock(e.m, e.t, W + 8 * PG, 0))).toBe(0);
    // RLIMIT_MEMLOCK is checked before the wrap: huge len is over the limit.
    e.fails(sys_mlock(e.m, e.t, W, -PG), ENOMEM);
    e.fails(sys_mlock2(e.m, e.t, W, -PG, 0), ENOMEM);
    e.fails(sys_munlock(e.m, e.t, W, -PG), EINVAL);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([0, 0]);
    const c = env({ spawn: { caps: { CAP_IPC_LOCK: true } } });
    c.ok(sys_mmap(c.m, c.t, W, 4 * PG, RW, FIX, -1, 0));
    c.fails(sys_mlock(c.m, c.t, W, -PG), EINVAL);
    c.fails(sys_mlock2(c.m, c.t, W, -PG, 0), EINVAL);
    expect(layout(c.mm)).toEqual(["0-4 rw-p 0"]);
  });

  it("len 0 with an unaligned start is one page: PAGE_ALIGN(0 + offset)", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    expect(e.ok(sys_mlock(e.m, e.t, W + 1, 0))).toBe(0);
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0 a", "1-4 rw-p 1"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([1, 1]);
    expect(e.ok(sys_munlock(e.m, e.t, W + PG + 1, 0))).toBe(0);
    expect(e.ok(sys_mlock2(e.m, e.t, W + 2 * PG + 1, 0, MLOCK_ONFAULT))).toBe(0);
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0 a", "1-2 rw-p 1", "2-3 rw-p 2", "3-4 rw-p 3"]);
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd wr mr mw me lo lf ac");
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([2, 1]);
    e.fails(sys_mlock(e.m, e.t, W + 4 * PG + 1, 0), ENOMEM);
    e.fails(sys_munlock(e.m, e.t, W + 4 * PG + 1, 0), ENOMEM);
  });

  it("mlock2(MLOCK_ONFAULT) sets lo lf and populates nothing; a plain lock clears lf without counting twice", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mlock2(e.m, e.t, W, 4 * PG, MLOCK_ONFAULT));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo lf ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.t.min_flt]).toEqual([4, 0, 0]);
    expect(resident(e, W, 4)).toEqual([0, 0, 0, 0]);
    // lo lf -> lo in the middle: split, populated, still 4 locked pages.
    e.ok(sys_mlock(e.m, e.t, W + PG, 2 * PG));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0", "1-3 rw-p 1 a", "3-4 rw-p 3"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo lf ac");
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([4, 2]);
    expect(resident(e, W, 4)).toEqual([0, 1, 1, 0]);
    // Back to lo lf everywhere: one VMA again; resident pages stay.
    e.ok(sys_mlock2(e.m, e.t, W, 4 * PG, MLOCK_ONFAULT));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo lf ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES]]).toEqual([4, 2]);
    e.ok(sys_mlock2(e.m, e.t, W, 4 * PG, 0));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([4, 4]);
    expect(resident(e, W, 4)).toEqual([1, 1, 1, 1]);
    e.ok(sys_munlock(e.m, e.t, W, 4 * PG));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES]]).toEqual([0, 4]);
  });

  it("mlock2 flags: unknown bits are EINVAL (before EPERM and the hole); flags is an int", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.fails(sys_mlock2(e.m, e.t, W, 4 * PG, 2), EINVAL);
    e.fails(sys_mlock2(e.m, e.t, W, 4 * PG, -1), EINVAL);
    e.fails(sys_mlock2(e.m, e.t, W + 8 * PG, PG, 2), EINVAL);
    // The upper half of a 64-bit register is not part of an int: 0x100000001 is MLOCK_ONFAULT.
    e.ok(sys_mlock2(e.m, e.t, W, 4 * PG, 0x100000001));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo lf ac");
    const z = env({ spawn: { rlimits: { MEMLOCK: 0 } } });
    z.ok(sys_mmap(z.m, z.t, W, 4 * PG, RW, FIX, -1, 0));
    z.fails(sys_mlock2(z.m, z.t, W, PG, 2), EINVAL);
    z.fails(sys_mlock2(z.m, z.t, W, PG, MLOCK_ONFAULT), EPERM);
  });

  it("write-only and exec-only mappings are populated too (FOLL_FORCE)", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, PROT_WRITE, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, PROT_EXEC, FIX, -1, 0));
    expect(e.ok(sys_mlock(e.m, e.t, W, 4 * PG))).toBe(0);
    expect(flagsAt(e.mm, W)).toBe("wr mr mw me lo ac");
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("ex mr mw me lo");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.t.min_flt]).toEqual([4, 4, 4]);
  });

  it("shared anonymous and shared file mappings are locked and read-populated", () => {
    const e = env();
    cachedFile(e, "/f", 4 * PG);
    const rw = e.ok(sys_open(e.m, e.t, "/f", O_RDWR));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, MAP_SHARED | MAP_FIXED, rw, 0));
    e.ok(sys_mlock(e.m, e.t, W, 4 * PG));
    expect(flagsAt(e.mm, W)).toBe("rd wr sh mr mw me ms lo");
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd wr sh mr mw me ms lo");
    // shmem: a fault per page; the cached file: one fault maps both (fault-around).
    expect([e.mm.rss_stat[MM_SHMEMPAGES], e.mm.rss_stat[MM_FILEPAGES], e.t.min_flt]).toEqual([2, 2, 3]);
    expect([e.mm.locked_vm, e.mm.total_vm]).toEqual([4, 4]);
  });

  it("MAP_DROPPABLE VMAs are populated but never locked", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    expect(e.ok(sys_mlock(e.m, e.t, W, 2 * PG))).toBe(0);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me nr wf dd dp");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.t.min_flt]).toEqual([0, 2, 2]);
    e.ok(sys_mlock2(e.m, e.t, W, 2 * PG, MLOCK_ONFAULT));
    e.ok(sys_munlock(e.m, e.t, W, 2 * PG));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me nr wf dd dp");
    expect(e.mm.locked_vm).toBe(0);
  });
});

describe("mlock: partial application and populate errors", () => {
  it("a hole: ENOMEM, the VMAs before it are locked but not populated; munlock is partial too", () => {
    //  01234567
    //  AAAA BBB
    const e = holeWindow();
    e.fails(sys_mlock(e.m, e.t, W, 8 * PG), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("rd wr mr mw me ac");
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([4, 0]);
    expect(resident(e, W, 4)).toEqual([0, 0, 0, 0]);
    e.fails(sys_mlock(e.m, e.t, W + 4 * PG, PG), ENOMEM);
    // B is locked, then the hole after it.
    e.fails(sys_mlock(e.m, e.t, W + 5 * PG, 4 * PG), ENOMEM);
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([7, 0]);
    e.fails(sys_munlock(e.m, e.t, W, 8 * PG), ENOMEM);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("rd wr mr mw me lo ac");
    expect(e.mm.locked_vm).toBe(3);
    e.fails(sys_munlock(e.m, e.t, W + 4 * PG, PG), ENOMEM);
  });

  it("beyond TASK_SIZE is ENOMEM; a range running past the last VMA locks it first (CAP_IPC_LOCK)", () => {
    // Without CAP_IPC_LOCK the huge length is over RLIMIT_MEMLOCK and nothing is applied.
    const e = holeWindow({ spawn: { caps: { CAP_IPC_LOCK: true } } });
    e.fails(sys_mlock(e.m, e.t, 0x7ffffffff000, PG), ENOMEM);
    e.fails(sys_mlock(e.m, e.t, W + 5 * PG, 0x800000000000 - W - 5 * PG), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([3, 0]);
  });

  it("PROT_NONE: ENOMEM, yet locked and counted; VMAs after it are locked but not populated", () => {
    //  012345
    //  AAnnrr   rw, PROT_NONE, r--
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, PROT_NONE, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, R, FIX, -1, 0));
    e.fails(sys_mlock(e.m, e.t, W, 6 * PG), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0 a", "2-4 ---p 2", "4-6 r--p 4"]);
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("mr mw me lo");
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("rd mr mw me lo");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.t.min_flt]).toEqual([6, 2, 2]);
    expect(resident(e, W, 6)).toEqual([1, 1, 0, 0, 0, 0]);
    expect(e.ok(sys_munlock(e.m, e.t, W, 6 * PG))).toBe(0);
    expect(e.mm.locked_vm).toBe(0);
    // ONFAULT does not populate, so PROT_NONE is fine.
    expect(e.ok(sys_mlock2(e.m, e.t, W + 2 * PG, 2 * PG, MLOCK_ONFAULT))).toBe(0);
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("mr mw me lo lf");
    expect(e.mm.locked_vm).toBe(2);
  });

  it("a file mapping beyond EOF: ENOMEM after populating the pages inside the file", () => {
    //  0123    89ab cd    gh
    //  FFF.    FFF. AA    ..   file of 10000 bytes (3 pages); '.' is beyond EOF
    const e = env();
    cachedFile(e, "/f", 10000);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, R, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.fails(sys_mlock(e.m, e.t, W, 4 * PG), ENOMEM);
    expect(flagsAt(e.mm, W)).toBe("rd mr mw me lo");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_FILEPAGES], e.t.min_flt]).toEqual([4, 3, 1]);
    // The populate stops at the failure: the anonymous VMA after it stays empty.
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 4 * PG, R, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 12 * PG, 2 * PG, RW, FIX, -1, 0));
    e.fails(sys_mlock(e.m, e.t, W + 8 * PG, 6 * PG), ENOMEM);
    expect(layout(e.mm)).toEqual([`0-4 r--p ${F0}`, `8-12 r--p ${F0}`, "12-14 rw-p 12"]);
    expect(flagsAt(e.mm, W + 12 * PG)).toBe("rd wr mr mw me lo ac");
    expect(resident(e, W + 8 * PG, 6)).toEqual([1, 1, 1, 0, 0, 0]);
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_FILEPAGES], e.mm.rss_stat[MM_ANONPAGES]]).toEqual([10, 6, 0]);
    // Wholly beyond EOF: ONFAULT is fine, a plain lock is ENOMEM.
    e.ok(sys_mmap(e.m, e.t, W + 16 * PG, 2 * PG, R, MAP_PRIVATE | MAP_FIXED, fd, 3 * PG));
    expect(e.ok(sys_mlock2(e.m, e.t, W + 16 * PG, 2 * PG, MLOCK_ONFAULT))).toBe(0);
    e.fails(sys_mlock(e.m, e.t, W + 16 * PG, 2 * PG), ENOMEM);
    expect(flagsAt(e.mm, W + 16 * PG)).toBe("rd mr mw me lo");
  });
});

describe("mlock: RLIMIT_MEMLOCK and CAP_IPC_LOCK", () => {
  it("the limit is in whole pages; pages already locked in the range do not count twice", () => {
    //  01234567  ab
    //  AAAAAAAA  BB     RLIMIT_MEMLOCK = 4 pages + 100 bytes
    const e = env({ spawn: { rlimits: { MEMLOCK: 4 * PG + 100 } } });
    e.ok(sys_mmap(e.m, e.t, W, 8 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 10 * PG, 2 * PG, RW, FIX, -1, 0));
    e.fails(sys_mlock(e.m, e.t, W, 5 * PG), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-8 rw-p 0", "10-12 rw-p 10"]);
    e.ok(sys_mlock(e.m, e.t, W, 3 * PG));
    // 3 locked + 4 asked - 3 already locked in [0,4) = 4 <= 4.
    e.ok(sys_mlock(e.m, e.t, W, 4 * PG));
    expect(e.mm.locked_vm).toBe(4);
    e.fails(sys_mlock(e.m, e.t, W + 4 * PG, PG), ENOMEM);
    e.fails(sys_mlock2(e.m, e.t, W + 4 * PG, PG, MLOCK_ONFAULT), ENOMEM);
    e.ok(sys_mlock(e.m, e.t, W, 4 * PG));
    e.fails(sys_mlock(e.m, e.t, W + 2 * PG, 4 * PG), ENOMEM);
    e.ok(sys_munlock(e.m, e.t, W, PG));
    expect(e.mm.locked_vm).toBe(3);
    // 3 + 2 - 1 (page 3) = 4.
    e.ok(sys_mlock(e.m, e.t, W + 3 * PG, 2 * PG));
    e.ok(sys_mlock(e.m, e.t, W + 4 * PG, PG));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0 a", "1-5 rw-p 1 a", "5-8 rw-p 5", "10-12 rw-p 10"]);
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.t.min_flt]).toEqual([4, 5, 5]);
    // Over the limit before anything is applied: the range with a hole changes nothing.
    e.fails(sys_mlock(e.m, e.t, W + 8 * PG, PG), ENOMEM);
    e.fails(sys_mlock(e.m, e.t, W, 12 * PG), ENOMEM);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect(e.mm.locked_vm).toBe(4);
    expect(e.ok(sys_munlockall(e.m, e.t))).toBe(0);
    expect(e.mm.locked_vm).toBe(0);
  });

  it("limit 0: EPERM for mlock, mlock2, mlockall and MAP_LOCKED, even for len 0 or a hole; munlock works", () => {
    const e = env({ spawn: { rlimits: { MEMLOCK: 0 } } });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.fails(sys_mlock(e.m, e.t, W, PG), EPERM);
    e.fails(sys_mlock(e.m, e.t, W, 0), EPERM);
    e.fails(sys_mlock(e.m, e.t, W + 8 * PG, PG), EPERM);
    e.fails(sys_mlock2(e.m, e.t, W, PG, 0), EPERM);
    expect(e.ok(sys_munlock(e.m, e.t, W, PG))).toBe(0);
    e.fails(sys_munlock(e.m, e.t, W + 8 * PG, PG), ENOMEM);
    e.fails(sys_mlockall(e.m, e.t, MCL_CURRENT), EPERM);
    e.fails(sys_mlockall(e.m, e.t, MCL_FUTURE), EPERM);
    e.fails(sys_mlockall(e.m, e.t, 0), EINVAL);
    e.fails(sys_mlockall(e.m, e.t, MCL_ONFAULT), EINVAL);
    expect(e.ok(sys_munlockall(e.m, e.t))).toBe(0);
    e.fails(sys_mmap(e.m, e.t, W + 8 * PG, PG, RW, FIX | MAP_LOCKED, -1, 0), EPERM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
    expect(e.mm.def_flags).toBe(0);
  });

  it("CAP_IPC_LOCK ignores a limit of 0", () => {
    const e = env({ spawn: { rlimits: { MEMLOCK: 0 }, caps: { CAP_IPC_LOCK: true } } });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mlock(e.m, e.t, W, 4 * PG));
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([4, 4]);
    e.ok(sys_mlock2(e.m, e.t, W, 4 * PG, MLOCK_ONFAULT));
    e.ok(sys_mlockall(e.m, e.t, MCL_CURRENT | MCL_FUTURE));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 4 * PG, RW, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a", "8-12 rw-p 8 a"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect(flagsAt(e.mm, W + 8 * PG)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES]]).toEqual([8, 8]);
  });
});

describe("mlock: max_map_count", () => {
  it("at max-1 a lock of the middle needs two splits: ENOMEM, and the first split stays", () => {
    const e = env({ profile: { maxMapCount: 8 }, checkMergeable: false });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    fillTo(e, 7);
    e.fails(sys_mlock(e.m, e.t, W + PG, 2 * PG), ENOMEM);
    expect(win(e.mm)).toEqual(["0-1 rw-p 0", "1-4 rw-p 1"]);
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr mr mw me ac");
    expect([e.mm.map_count, e.mm.locked_vm, e.t.min_flt]).toEqual([8, 0, 0]);
  });

  it("at max: splits are ENOMEM; merges with a neighbour and whole VMAs are fine", () => {
    //  012345
    //  LLAAAA   [0,2) locked
    const e = env({ profile: { maxMapCount: 8 } });
    e.ok(sys_mmap(e.m, e.t, W, 6 * PG, RW, FIX, -1, 0));
    e.ok(sys_mlock(e.m, e.t, W, 2 * PG));
    fillTo(e, 8);
    // Page 2 joins the locked VMA: no split.
    e.ok(sys_mlock(e.m, e.t, W, 3 * PG));
    expect(win(e.mm)).toEqual(["0-3 rw-p 0 a", "3-6 rw-p 3"]);
    // And back into the unlocked one.
    e.ok(sys_munlock(e.m, e.t, W + 2 * PG, PG));
    expect(win(e.mm)).toEqual(["0-2 rw-p 0 a", "2-6 rw-p 2 a"]);
    e.fails(sys_mlock(e.m, e.t, W + 4 * PG, PG), ENOMEM);
    e.fails(sys_mlock(e.m, e.t, W + 5 * PG, PG), ENOMEM);
    e.fails(sys_munlock(e.m, e.t, W, PG), ENOMEM);
    e.ok(sys_mlock2(e.m, e.t, W, 2 * PG, MLOCK_ONFAULT));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo lf ac");
    expect(win(e.mm)).toEqual(["0-2 rw-p 0 a", "2-6 rw-p 2 a"]);
    expect([e.mm.map_count, e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES]]).toEqual([8, 2, 3]);
  });
});

describe("mlockall and munlockall", () => {
  it("flags: 0, unknown bits and MCL_ONFAULT alone are EINVAL, before EPERM", () => {
    const e = env();
    for (const f of [0, 8, MCL_ONFAULT, MCL_ONFAULT | 8, MCL_CURRENT | 8, -1]) {
      e.fails(sys_mlockall(e.m, e.t, f), EINVAL);
    }
    expect(e.mm.def_flags).toBe(0);
  });

  /**
   *  0123 45 89ab cd
   *  ALAA nn FFF. OO   L mlocked, n PROT_NONE, F file (3 pages + beyond EOF), O mlock2 ONFAULT
   */
  function currentWindow(): Env {
    const e = env();
    cachedFile(e, "/f", 10000);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    e.ok(sys_mlock(e.m, e.t, W + PG, PG));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, PROT_NONE, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 4 * PG, R, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 12 * PG, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mlock2(e.m, e.t, W + 12 * PG, 2 * PG, MLOCK_ONFAULT));
    expect(layout(e.mm)).toEqual([
      "0-1 rw-p 0",
      "1-2 rw-p 1 a",
      "2-4 rw-p 2",
      "4-6 ---p 4",
      `8-12 r--p ${F0}`,
      "12-14 rw-p 12",
    ]);
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([3, 1]);
    return e;
  }

  it("MCL_CURRENT locks and populates every VMA, merging lock-split neighbours; errors are ignored", () => {
    const e = currentWindow();
    expect(e.ok(sys_mlockall(e.m, e.t, MCL_CURRENT))).toBe(0);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a", "4-6 ---p 4", `8-12 r--p ${F0}`, "12-14 rw-p 12 a"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("mr mw me lo");
    expect(flagsAt(e.mm, W + 8 * PG)).toBe("rd mr mw me lo");
    expect(flagsAt(e.mm, W + 12 * PG)).toBe("rd wr mr mw me lo ac");
    expect(e.mm.locked_vm).toBe(12);
    expect([e.mm.rss_stat[MM_ANONPAGES], e.mm.rss_stat[MM_FILEPAGES], e.t.min_flt]).toEqual([6, 3, 7]);
    expect(resident(e, W, 6)).toEqual([1, 1, 1, 1, 0, 0]);
    // MCL_CURRENT alone leaves def_flags clear.
    e.ok(sys_mmap(e.m, e.t, W + 16 * PG, PG, RW, FIX, -1, 0));
    expect(flagsAt(e.mm, W + 16 * PG)).toBe("rd wr mr mw me ac");
    expect(e.ok(sys_munlockall(e.m, e.t))).toBe(0);
    for (const a of [0, 4, 8, 12, 16]) expect(flagsAt(e.mm, W + a * PG)).not.toMatch(/lo/);
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.mm.rss_stat[MM_FILEPAGES]]).toEqual([0, 6, 3]);
  });

  it("MCL_CURRENT|MCL_ONFAULT sets lo lf without populating; a later MCL_CURRENT populates", () => {
    const e = currentWindow();
    e.ok(sys_mlockall(e.m, e.t, MCL_CURRENT));
    e.ok(sys_munlockall(e.m, e.t));
    e.ok(sys_mmap(e.m, e.t, W + 16 * PG, PG, RW, FIX, -1, 0));
    e.ok(sys_mlockall(e.m, e.t, MCL_CURRENT | MCL_ONFAULT));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo lf ac");
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("mr mw me lo lf");
    expect(flagsAt(e.mm, W + 16 * PG)).toBe("rd wr mr mw me lo lf ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.t.min_flt]).toEqual([13, 6, 7]);
    e.ok(sys_mlockall(e.m, e.t, MCL_CURRENT));
    expect(flagsAt(e.mm, W + 16 * PG)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.t.min_flt]).toEqual([13, 7, 8]);
  });

  it("MCL_CURRENT: total_vm above the limit is ENOMEM and changes nothing (also for MCL_FUTURE with it)", () => {
    const e = env({ spawn: { rlimits: { MEMLOCK: 2 * PG } } });
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    // total_vm == limit is fine.
    e.ok(sys_mlockall(e.m, e.t, MCL_CURRENT));
    expect(e.mm.locked_vm).toBe(2);
    e.ok(sys_munlockall(e.m, e.t));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, PG, PROT_NONE, FIX, -1, 0));
    e.fails(sys_mlockall(e.m, e.t, MCL_CURRENT), ENOMEM);
    e.fails(sys_mlockall(e.m, e.t, MCL_CURRENT | MCL_FUTURE), ENOMEM);
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, PG, RW, FIX, -1, 0));
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("rd wr mr mw me ac");
    // MCL_FUTURE alone does not look at total_vm.
    e.ok(sys_mlockall(e.m, e.t, MCL_FUTURE));
    e.ok(sys_mmap(e.m, e.t, W + 6 * PG, PG, RW, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0 a", "2-3 ---p 2", "4-5 rw-p 4", "6-7 rw-p 6 a"]);
    expect(flagsAt(e.mm, W + 6 * PG)).toBe("rd wr mr mw me lo ac");
    expect(e.mm.locked_vm).toBe(1);
  });

  it("MCL_FUTURE: later mmaps are locked and populated, PROT_NONE and beyond-EOF ones too", () => {
    const e = env();
    cachedFile(e, "/f", 10000);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mlockall(e.m, e.t, MCL_FUTURE));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, RW, FIX, -1, 0));
    // Next to the unlocked VMA: no merge.
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 2 * PG, PROT_NONE, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 12 * PG, 4 * PG, R, MAP_PRIVATE | MAP_FIXED, fd, 0));
    expect(layout(e.mm)).toEqual([
      "0-2 rw-p 0",
      "2-3 rw-p 2 a",
      "4-6 rw-p 4 a",
      "8-10 ---p 8",
      `12-16 r--p ${F0}`,
    ]);
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd wr mr mw me lo ac");
    expect(flagsAt(e.mm, W + 8 * PG)).toBe("mr mw me lo");
    expect(flagsAt(e.mm, W + 12 * PG)).toBe("rd mr mw me lo");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES], e.mm.rss_stat[MM_FILEPAGES]]).toEqual([9, 3, 3]);
    expect(resident(e, W, 3)).toEqual([0, 0, 1]);
  });

  it("MCL_FUTURE|MCL_ONFAULT makes later mmaps lo lf and empty; MCL_CURRENT and munlockall clear MCL_FUTURE", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mlockall(e.m, e.t, MCL_FUTURE));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, PG, RW, FIX, -1, 0));
    e.ok(sys_mlockall(e.m, e.t, MCL_FUTURE | MCL_ONFAULT));
    e.ok(sys_mmap(e.m, e.t, W + 20 * PG, 2 * PG, RW, FIX, -1, 0));
    expect(flagsAt(e.mm, W + 20 * PG)).toBe("rd wr mr mw me lo lf ac");
    expect(resident(e, W + 20 * PG, 2)).toEqual([0, 0]);
    // MCL_CURRENT: every VMA locked and populated, def_flags cleared.
    e.ok(sys_mlockall(e.m, e.t, MCL_CURRENT));
    e.ok(sys_mmap(e.m, e.t, W + 24 * PG, 2 * PG, RW, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["0-3 rw-p 0 a", "20-22 rw-p 20 a", "24-26 rw-p 24"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect(flagsAt(e.mm, W + 20 * PG)).toBe("rd wr mr mw me lo ac");
    expect(flagsAt(e.mm, W + 24 * PG)).toBe("rd wr mr mw me ac");
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES]]).toEqual([5, 5]);
    e.ok(sys_mlockall(e.m, e.t, MCL_FUTURE));
    e.ok(sys_munlockall(e.m, e.t));
    e.ok(sys_mmap(e.m, e.t, W + 28 * PG, 2 * PG, RW, FIX, -1, 0));
    expect(flagsAt(e.mm, W + 28 * PG)).toBe("rd wr mr mw me ac");
    expect([e.mm.locked_vm, e.mm.def_flags]).toEqual([0, 0]);
  });

  it("MCL_FUTURE over RLIMIT_MEMLOCK: mmap is EAGAIN, even replacing locked pages or with MAP_NORESERVE", () => {
    const e = env({ spawn: { rlimits: { MEMLOCK: 4 * PG } } });
    e.ok(sys_mlockall(e.m, e.t, MCL_FUTURE));
    e.ok(sys_mmap(e.m, e.t, W, 3 * PG, RW, FIX, -1, 0));
    e.fails(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, RW, FIX, -1, 0), EAGAIN);
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, PG, RW, FIX, -1, 0));
    expect(e.mm.locked_vm).toBe(4);
    // mlock_future_ok() runs before the old pages are unmapped: 4 + 2 > 4.
    e.fails(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0), EAGAIN);
    e.fails(sys_mmap(e.m, e.t, W + 8 * PG, PG, RW, FIX | MAP_NORESERVE, -1, 0), EAGAIN);
    e.ok(sys_mlockall(e.m, e.t, MCL_FUTURE | MCL_ONFAULT));
    e.fails(sys_mmap(e.m, e.t, W + 8 * PG, PG, RW, FIX, -1, 0), EAGAIN);
    e.ok(sys_munlockall(e.m, e.t));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, PG, RW, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["0-3 rw-p 0 a", "4-5 rw-p 4 a", "8-9 rw-p 8"]);
    expect([e.mm.locked_vm, e.mm.rss_stat[MM_ANONPAGES]]).toEqual([0, 4]);
  });

  it("at max_map_count, mlockall(MCL_CURRENT) still merges what the lock makes equal", () => {
    const e = env({ profile: { maxMapCount: 8 } });
    e.ok(sys_mmap(e.m, e.t, W, 6 * PG, RW, FIX, -1, 0));
    e.ok(sys_mlock2(e.m, e.t, W, 2 * PG, MLOCK_ONFAULT));
    fillTo(e, 8);
    e.ok(sys_mlockall(e.m, e.t, MCL_CURRENT));
    expect(win(e.mm)).toEqual(["0-6 rw-p 0 a"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect(e.mm.map_count).toBe(7);
    e.ok(sys_munlockall(e.m, e.t));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect(e.mm.locked_vm).toBe(0);
  });
});
