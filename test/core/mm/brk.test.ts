/**
 * brk(2) in the style of tools/testing/vma: a heap modelled at W (start_brk = brk = W, no data
 * segment unless a test sets one), one call, the exact VMAs, then validate_mm().
 *
 * brk never fails with an errno: on any failure it returns the current break. Every expectation
 * was measured on Linux 6.18.44 x86_64 (this machine) with raw syscall(SYS_brk) probes
 * (/tmp/probe/brk*.c, positions relative to start_brk, the same as here relative to W).
 * In the pictures: H = heap VMA, r = a foreign read-only VMA, g = GROWSDOWN, . = hole.
 */
import { describe, expect, it } from "vitest";
import {
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  MCL_FUTURE,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from "../../../src/core/abi/mman.js";
import { sys_brk } from "../../../src/core/mm/brk.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mincore } from "../../../src/core/mm/mincore.js";
import { sys_mlockall, sys_munlockall } from "../../../src/core/mm/mlock.js";
import { sys_mmap, sys_munmap } from "../../../src/core/mm/mmap.js";
import { sys_mprotect } from "../../../src/core/mm/mprotect.js";
import { show_maps } from "../../../src/core/mm/procfs.js";
import { type Env, type EnvOptions, env, flagsAt, layout, PG, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const FIX = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
/** Page p of the window (the heap starts at page 0). */
const P = (p: number) => W + p * PG;

/** An env whose heap starts at W, empty. */
function heapEnv(o: EnvOptions = {}): Env {
  const e = env(o);
  e.mm.start_brk = e.mm.brk = W;
  return e;
}

function brk(e: Env, addr: number): number {
  return e.ok(sys_brk(e.m, e.t, addr));
}

function map(e: Env, p: number, n: number, prot = RW, flags = FIX): void {
  e.ok(sys_mmap(e.m, e.t, P(p), n * PG, prot, flags, -1, 0));
}

/** The [heap]-labelled lines of /proc/PID/maps, as "start-end" in pages from W. */
function heapLabels(e: Env): string[] {
  return show_maps(e.m, e.mm, { vsyscall: false })
    .split("\n")
    .filter((l) => l.endsWith("[heap]"))
    .map((l) => {
      const [s, t] = l
        .split(" ")[0]!
        .split("-")
        .map((x) => Number.parseInt(x, 16));
      return `${(s! - W) / PG}-${(t! - W) / PG}`;
    });
}

describe("brk: the current break", () => {
  it("brk(0), and anything below start_brk, returns the current break and changes nothing", () => {
    const e = heapEnv();
    expect(brk(e, 0)).toBe(W);
    expect(brk(e, W - 1)).toBe(W);
    expect(brk(e, 1)).toBe(W);
    expect(e.mm.map_count).toBe(0);
    expect(e.mm.brk).toBe(W);
    // Nothing is labelled [heap] while brk == start_brk.
    expect(heapLabels(e)).toEqual([]);
  });

  it("growing creates one [heap] VMA, then extends it; unaligned values are stored and returned", () => {
    //  0        0123
    //  H   ->   HHHH   (brk = W + 3 pages + 5)
    const e = heapEnv();
    expect(brk(e, P(1))).toBe(P(1));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect(brk(e, P(3) + 5)).toBe(P(3) + 5);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
    expect(e.mm.brk).toBe(P(3) + 5);
    expect(brk(e, 0)).toBe(P(3) + 5);
    expect(e.mm.total_vm).toBe(4);
    expect(e.mm.data_vm).toBe(4);
    expect(e.mm.get_mm_rss()).toBe(0);
    expect(heapLabels(e)).toEqual(["0-4"]);
    // Same page: only the stored value changes.
    expect(brk(e, P(3) + 100)).toBe(P(3) + 100);
    expect(brk(e, P(4))).toBe(P(4));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
    expect(e.mm.brk).toBe(P(4));
  });

  it("shrinking unmaps the pages above the new break", () => {
    //  HHHH  ->  HH  ->  (nothing)
    const e = heapEnv();
    brk(e, P(4));
    e.ok(sys_madvise(e.m, e.t, W, 4 * PG, MADV_POPULATE_WRITE));
    expect(brk(e, P(1) + 1)).toBe(P(1) + 1);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0 a"]);
    expect(e.mm.get_mm_rss()).toBe(2);
    expect(e.mm.hiwater_vm).toBe(4);
    expect(brk(e, W)).toBe(W);
    expect(layout(e.mm)).toEqual([]);
    expect(e.mm.total_vm).toBe(0);
    expect(e.mm.data_vm).toBe(0);
    expect(e.m.frames.nr_used).toBe(0);
    expect(brk(e, 0)).toBe(W);
  });

  it("huge requests fail quietly: -1, -PG, TASK_SIZE and beyond, more than RAM", () => {
    const e = heapEnv();
    for (const a of [-1, -PG, TASK_SIZE, TASK_SIZE + PG, 2 ** 46, W + 64 * 2 ** 30]) {
      expect(brk(e, a)).toBe(W);
    }
    expect(e.mm.map_count).toBe(0);
    expect(e.mm.brk).toBe(W);
    expect(e.m.vm_committed_as).toBe(0);
  });
});

describe("brk: the heap VMA", () => {
  it("a touched heap is still extended; a read-only heap gets a second VMA", () => {
    //  hh  ->  hhhh  -> (mprotect ro) rrrr + HH
    const e = heapEnv();
    brk(e, P(2));
    e.ok(sys_madvise(e.m, e.t, W, 2 * PG, MADV_POPULATE_WRITE));
    expect(brk(e, P(4))).toBe(P(4));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    e.ok(sys_mprotect(e.m, e.t, W, 4 * PG, PROT_READ));
    expect(brk(e, P(6))).toBe(P(6));
    expect(layout(e.mm)).toEqual(["0-4 r--p 0 a", "4-6 rw-p 4"]);
    expect(flagsAt(e.mm, W)).toBe("rd mr mw me ac");
    expect(flagsAt(e.mm, P(4))).toBe("rd wr mr mw me ac");
    expect(heapLabels(e)).toEqual(["0-4", "4-6"]);
  });

  it("a VMA ending at start_brk (the bss) is never extended: the heap is a VMA of its own", () => {
    //  -2 -1 | 0 1
    //   B  B | H H
    const e = heapEnv({ checkMergeable: false });
    map(e, -2, 2);
    expect(brk(e, P(2))).toBe(P(2));
    expect(layout(e.mm)).toEqual(["-2-0 rw-p -2", "0-2 rw-p 0"]);
    expect(heapLabels(e)).toEqual(["0-2"]);
  });

  it("[heap] labels every VMA between start_brk and brk, foreign ones included", () => {
    //  0123    8
    //  HHrH    r
    const e = heapEnv();
    brk(e, P(4));
    map(e, 2, 1, PROT_READ);
    map(e, 8, 1, PROT_READ);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-3 r--p 2", "3-4 rw-p 3", "8-9 r--p 8"]);
    expect(heapLabels(e)).toEqual(["0-2", "2-3", "3-4"]);
  });

  it("shrinking also unmaps a foreign VMA inside the heap (brk2)", () => {
    //  01234567        0           01234567
    //  HHrHHHHH   ->   H    ->     HHHHHHHH
    const e = heapEnv();
    expect(brk(e, P(8))).toBe(P(8));
    map(e, 2, 1, PROT_READ);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-3 r--p 2", "3-8 rw-p 3"]);
    expect(brk(e, P(1))).toBe(P(1));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0"]);
    expect(brk(e, P(8))).toBe(P(8));
    expect(layout(e.mm)).toEqual(["0-8 rw-p 0"]);
  });

  it("a shrink fails when nothing is mapped between the new and the old break", () => {
    //  HHHH -> munmap -> ....  brk(W+1 page) fails; growing maps only above the old break
    const e = heapEnv();
    brk(e, P(4));
    e.ok(sys_munmap(e.m, e.t, W, 4 * PG));
    expect(brk(e, P(1))).toBe(P(4));
    expect(brk(e, P(6))).toBe(P(6));
    expect(layout(e.mm)).toEqual(["4-6 rw-p 4"]);
    // Only a foreign VMA left inside the heap: the shrink unmaps it and succeeds.
    map(e, 2, 1, PROT_READ);
    e.ok(sys_munmap(e.m, e.t, P(4), 2 * PG));
    expect(heapLabels(e)).toEqual(["2-3"]);
    expect(brk(e, P(1))).toBe(P(1));
    expect(layout(e.mm)).toEqual([]);
    expect(brk(e, W)).toBe(P(1));
  });
});

describe("brk: room above the heap", () => {
  it("one free page must stay below the next VMA", () => {
    //  0123456789A
    //  HHHHHHHHH.r    brk at W+10 or W+9+1 fails, W+9 is fine
    const e = heapEnv();
    map(e, 10, 1, PROT_READ);
    expect(brk(e, P(10))).toBe(W);
    expect(brk(e, P(9) + 1)).toBe(W);
    expect(brk(e, P(9))).toBe(P(9));
    expect(layout(e.mm)).toEqual(["0-9 rw-p 0", "10-11 r--p 10"]);
    expect(brk(e, P(9) + 1)).toBe(P(9));
    // Shrinking leaves the foreign VMA above the break alone.
    expect(brk(e, W)).toBe(W);
    expect(layout(e.mm)).toEqual(["10-11 r--p 10"]);
  });

  it("below a GROWSDOWN VMA the stack guard gap (256 pages) must stay free too", () => {
    //  0 .. 43 | 44 .. 299 | 300
    //  H .. H  |  gap+page |  g
    const e = heapEnv();
    map(e, 300, 1, RW, FIX | MAP_GROWSDOWN);
    expect(brk(e, P(44))).toBe(W);
    expect(brk(e, P(43) + 1)).toBe(W);
    expect(brk(e, P(43))).toBe(P(43));
    expect(layout(e.mm)).toEqual(["0-43 rw-p 0", "300-301 rw-p 300"]);
  });
});

describe("brk: limits", () => {
  it("RLIMIT_DATA counts heap + data segment in bytes, and blocks shrinking too", () => {
    // A data segment of 840 bytes, as in the probe's binary.
    const e = heapEnv();
    e.mm.start_data = W - 16 * PG;
    e.mm.end_data = e.mm.start_data + 840;
    expect(brk(e, P(4))).toBe(P(4));
    e.t.rlimits.DATA = 2 * PG;
    // (3 pages + 840) > 2 pages: even a shrink fails.
    expect(brk(e, P(3))).toBe(P(4));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
    // Exactly at the limit is allowed.
    expect(brk(e, P(2) - 840)).toBe(P(2) - 840);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0"]);
    expect(brk(e, P(1))).toBe(P(1));
    expect(brk(e, P(2))).toBe(P(1));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0"]);
  });

  it("the byte check is separate from data_vm: the data segment size counts", () => {
    // data segment 2 pages, RLIMIT_DATA 6 pages: heap up to 4 pages, not a byte more.
    const e = heapEnv({ spawn: { rlimits: { DATA: 6 * PG } } });
    e.mm.start_data = W - 16 * PG;
    e.mm.end_data = e.mm.start_data + 2 * PG;
    expect(brk(e, P(4))).toBe(P(4));
    expect(brk(e, P(4) + 1)).toBe(P(4));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
  });

  it("RLIMIT_DATA = 0 blocks growing and shrinking (no Valgrind exception for brk)", () => {
    // As in the probe: an 840-byte data segment, so even brk(start_brk) is over the limit.
    const e = heapEnv();
    e.mm.start_data = W - 16 * PG;
    e.mm.end_data = e.mm.start_data + 840;
    expect(brk(e, P(2))).toBe(P(2));
    e.t.rlimits.DATA = 0;
    expect(brk(e, P(3))).toBe(P(2));
    expect(brk(e, W)).toBe(P(2));
    expect(brk(e, 0)).toBe(P(2));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0"]);
    e.t.rlimits.DATA = Number.POSITIVE_INFINITY;
    expect(brk(e, W)).toBe(W);
  });

  it("RLIMIT_DATA through data_vm: other writable private mappings count", () => {
    const e = heapEnv({ spawn: { rlimits: { DATA: 101 * PG } } });
    map(e, 200, 100);
    expect(brk(e, P(2))).toBe(W);
    expect(brk(e, P(1))).toBe(P(1));
    expect(e.mm.data_vm).toBe(101);
  });

  it("RLIMIT_AS", () => {
    const e = heapEnv({ spawn: { rlimits: { AS: 2 * PG } } });
    expect(brk(e, P(2))).toBe(P(2));
    expect(brk(e, P(3))).toBe(P(2));
    expect(e.mm.total_vm).toBe(2);
  });

  it("max_map_count: brk fails once map_count > max, even to extend the heap", () => {
    const e = heapEnv({ profile: { maxMapCount: 4 } });
    brk(e, P(2));
    for (let i = 0; i < 4; i++) map(e, 100 + 2 * i, 1, PROT_READ);
    expect(e.mm.map_count).toBe(5);
    expect(brk(e, P(4))).toBe(P(2));
    e.ok(sys_munmap(e.m, e.t, P(100), PG));
    expect(brk(e, P(4))).toBe(P(4));
    e.ok(sys_mprotect(e.m, e.t, W, 4 * PG, PROT_READ));
    // map_count == max: a new heap VMA is still allowed, then nothing more.
    expect(brk(e, P(5))).toBe(P(5));
    expect(e.mm.map_count).toBe(5);
    expect(brk(e, P(6))).toBe(P(5));
    expect(layout(e.mm).slice(0, 2)).toEqual(["0-4 r--p 0", "4-5 rw-p 4"]);
  });
});

describe("brk: mlockall(MCL_FUTURE)", () => {
  it("new heap pages are locked and populated, in a VMA of their own", () => {
    //  HH  ->  HH LLL   (mincore 00111)
    const e = heapEnv();
    expect(brk(e, P(2))).toBe(P(2));
    e.ok(sys_mlockall(e.m, e.t, MCL_FUTURE));
    expect(brk(e, P(5))).toBe(P(5));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-5 rw-p 2 a"]);
    expect(flagsAt(e.mm, P(2))).toBe("rd wr mr mw me lo ac");
    expect(Array.from(e.ok(sys_mincore(e.m, e.t, W, 5 * PG))).join("")).toBe("00111");
    expect(e.mm.locked_vm).toBe(3);
    expect(e.mm.get_mm_rss()).toBe(3);
    expect(heapLabels(e)).toEqual(["0-2", "2-5"]);
    expect(brk(e, P(3))).toBe(P(3));
    expect(e.mm.locked_vm).toBe(1);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-3 rw-p 2 a"]);
    e.ok(sys_munlockall(e.m, e.t));
    expect(brk(e, W)).toBe(W);
    expect(e.mm.locked_vm).toBe(0);
  });

  it("RLIMIT_MEMLOCK caps the locked heap growth", () => {
    const e = heapEnv({ spawn: { rlimits: { MEMLOCK: 2 * PG } } });
    e.ok(sys_mlockall(e.m, e.t, MCL_FUTURE));
    expect(brk(e, P(3))).toBe(W);
    expect(brk(e, P(2))).toBe(P(2));
    expect(brk(e, P(3))).toBe(P(2));
    expect(e.mm.locked_vm).toBe(2);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0 a"]);
  });
});
