/**
 * mprotect(2) in the style of tools/testing/vma: a picture of the window (one column per page),
 * one call, exact VMAs and counters. Every expectation was printed by the real kernel (6.18.44,
 * this machine's profile) running the same call sequence through raw syscall().
 */
import { describe, expect, it } from "vitest";
import { EACCES, EINVAL, ENOMEM } from "../../../src/core/abi/errno.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MLOCK_ONFAULT,
  O_RDONLY,
  O_RDWR,
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_NONE,
  PROT_READ,
  PROT_SEM,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_mincore } from "../../../src/core/mm/mincore.js";
import { sys_mlock, sys_mlock2 } from "../../../src/core/mm/mlock.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { sys_mprotect } from "../../../src/core/mm/mprotect.js";
import { MM_ANONPAGES, MM_FILEPAGES } from "../../../src/core/mm/types.js";
import { READ_IMPLIES_EXEC } from "../../../src/core/task/task.js";
import { cachedFile, type Env, env, fillTo, flagsAt, layout, PG, W, win } from "../helpers.js";

const R = PROT_READ;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const FIX = ANON | MAP_FIXED;
const GIB = 2 ** 30;
/** The layout() pgoff column of a file VMA at file offset 0 (pgoffs are printed relative to W). */
const F0 = -W / PG;

/** [0,4) rw, a hole at 4, [5,8) rw. */
function holeWindow(): Env {
  const e = env();
  e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
  e.ok(sys_mmap(e.m, e.t, W + 5 * PG, 3 * PG, RW, FIX, -1, 0));
  return e;
}

describe("mprotect: errno in Linux's check order", () => {
  it("GROWSDOWN|GROWSUP, unaligned start, len 0, wrap, unknown prot bits, in that order", () => {
    //  01234567
    //  AAAA BBB
    const e = holeWindow();
    const mp = (a: number, l: number, p: number) => sys_mprotect(e.m, e.t, a, l, p);
    e.fails(mp(W + 1, PG, R), EINVAL);
    e.fails(mp(W + 1, PG, 0x100), EINVAL);
    // Alignment is checked before len 0, the grows pair before alignment.
    e.fails(mp(W + 1, 0, R), EINVAL);
    e.fails(mp(W + 1, 0, PROT_GROWSDOWN | PROT_GROWSUP), EINVAL);
    e.fails(mp(W, PG, R | PROT_GROWSDOWN | PROT_GROWSUP), EINVAL);
    e.fails(mp(W, PG, -1), EINVAL);
    // len 0 succeeds before prot is looked at, even on a hole.
    expect(e.ok(mp(W, 0, 0x100))).toBe(0);
    expect(e.ok(mp(W + 4 * PG, 0, R))).toBe(0);
    // end <= start after PAGE_ALIGN is ENOMEM, and comes before the prot check.
    e.fails(mp(W, -PG, R), ENOMEM);
    e.fails(mp(W, -PG, 0x100), ENOMEM);
    e.fails(mp(W, -1, R), ENOMEM);
    e.fails(mp(W, -W, R), ENOMEM);
    // Unknown prot bits are refused before the VMA lookup.
    e.fails(mp(W + 4 * PG, PG, 0x10), EINVAL);
    // PROT_SEM is accepted and changes nothing.
    expect(e.ok(mp(W, PG, RW | PROT_SEM))).toBe(0);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
  });

  it("prot is an unsigned long: a bit above 31 is EINVAL", () => {
    const e = holeWindow();
    e.fails(sys_mprotect(e.m, e.t, W, PG, 0x100000001), EINVAL);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
  });

  it("no VMA at the start: a hole, a hole reaching a VMA, beyond TASK_SIZE are ENOMEM", () => {
    const e = holeWindow();
    e.fails(sys_mprotect(e.m, e.t, W + 4 * PG, PG, R), ENOMEM);
    e.fails(sys_mprotect(e.m, e.t, W + 4 * PG, 2 * PG, R), ENOMEM);
    e.fails(sys_mprotect(e.m, e.t, 0x7ffffffff000, PG, R), ENOMEM);
    e.fails(sys_mprotect(e.m, e.t, 0x800000000000, PG, R), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
  });

  it("PROT_GROWSUP: EINVAL on x86 when the start is mapped, ENOMEM on a hole", () => {
    const e = holeWindow();
    e.fails(sys_mprotect(e.m, e.t, W, PG, R | PROT_GROWSUP), EINVAL);
    e.fails(sys_mprotect(e.m, e.t, W + 4 * PG, PG, R | PROT_GROWSUP), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
  });

  it("PROT_GROWSDOWN: EINVAL on a VMA without VM_GROWSDOWN (also reached from the hole below)", () => {
    const e = holeWindow();
    e.fails(sys_mprotect(e.m, e.t, W + PG, PG, R | PROT_GROWSDOWN), EINVAL);
    // [4,6) meets B at 5: B is found, and it is not growsdown.
    e.fails(sys_mprotect(e.m, e.t, W + 4 * PG, 2 * PG, R | PROT_GROWSDOWN), EINVAL);
    // Nothing intersects [4,5).
    e.fails(sys_mprotect(e.m, e.t, W + 4 * PG, PG, R | PROT_GROWSDOWN), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0", "5-8 rw-p 5"]);
  });
});

describe("mprotect: PROT_GROWSDOWN on a MAP_GROWSDOWN VMA", () => {
  /** [4,8) rw growsdown, [8,10) rw. */
  function gdWindow(): Env {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 4 * PG, RW, FIX | MAP_GROWSDOWN, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 2 * PG, RW, FIX, -1, 0));
    return e;
  }

  it("the range is extended down to vm_start; the untouched part drops VM_ACCOUNT", () => {
    //  0123456789
    //      GGGGAA   mprotect(6, 1, R|GROWSDOWN) changes [4,7)
    const e = gdWindow();
    expect(e.ok(sys_mprotect(e.m, e.t, W + 6 * PG, PG, R | PROT_GROWSDOWN))).toBe(0);
    expect(layout(e.mm)).toEqual(["4-7 r--p 4", "7-8 rw-p 7", "8-10 rw-p 8"]);
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("rd mr mw me gd");
    expect(flagsAt(e.mm, W + 7 * PG)).toBe("rd wr mr mw me gd ac");
    expect([e.mm.total_vm, e.mm.stack_vm, e.mm.data_vm]).toEqual([6, 4, 2]);
  });

  it("a start in the hole below is moved up to the growsdown VMA", () => {
    const e = gdWindow();
    e.ok(sys_mprotect(e.m, e.t, W + 6 * PG, PG, R | PROT_GROWSDOWN));
    // [2,5) reaches the growsdown VMA at 4: only [4,5) changes, back to rw (and recharged).
    expect(e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 3 * PG, RW | PROT_GROWSDOWN))).toBe(0);
    expect(layout(e.mm)).toEqual(["4-5 rw-p 4", "5-7 r--p 5", "7-8 rw-p 7", "8-10 rw-p 8"]);
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("rd wr mr mw me gd ac");
  });

  it("the walk continues into a following plain VMA, and ends with ENOMEM at a hole after applying", () => {
    const e = gdWindow();
    e.ok(sys_mprotect(e.m, e.t, W + 6 * PG, PG, R | PROT_GROWSDOWN));
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 3 * PG, RW | PROT_GROWSDOWN));
    // From 5 (start of the growsdown VMA holding 5) up to 9: [7,8) merges into [5,7); [8,9) splits.
    expect(e.ok(sys_mprotect(e.m, e.t, W + 5 * PG, 4 * PG, R | PROT_GROWSDOWN))).toBe(0);
    expect(layout(e.mm)).toEqual(["4-5 rw-p 4", "5-8 r--p 5", "8-9 r--p 8", "9-10 rw-p 9"]);
    expect(flagsAt(e.mm, W + 8 * PG)).toBe("rd mr mw me");
    expect([e.mm.total_vm, e.mm.stack_vm, e.mm.data_vm]).toEqual([6, 4, 1]);
    // [5,14) from 6: [5,8) and [8,10) change (the two plain parts merge), then the hole at 10.
    e.fails(sys_mprotect(e.m, e.t, W + 6 * PG, 8 * PG, PROT_NONE | PROT_GROWSDOWN), ENOMEM);
    expect(layout(e.mm)).toEqual(["4-5 rw-p 4", "5-8 ---p 5", "8-10 ---p 8"]);
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("mr mw me gd");
    expect(flagsAt(e.mm, W + 8 * PG)).toBe("mr mw me");
    // Entirely in the hole below, and unaligned.
    e.fails(sys_mprotect(e.m, e.t, W, 2 * PG, R | PROT_GROWSDOWN), ENOMEM);
    e.fails(sys_mprotect(e.m, e.t, W + 6 * PG + 1, PG, R | PROT_GROWSDOWN), EINVAL);
  });
});

describe("mprotect: partial application", () => {
  it("a hole stops the walk with ENOMEM; the VMAs before it stay changed", () => {
    //  01234567
    //  AAAA BBB   mprotect(0, 8, R) -> A is r--, B untouched, ENOMEM
    const e = holeWindow();
    e.fails(sys_mprotect(e.m, e.t, W, 8 * PG, R), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 r--p 0", "5-8 rw-p 5"]);
    expect(flagsAt(e.mm, W)).toBe("rd mr mw me");
    expect(e.mm.data_vm).toBe(3);
    expect(e.m.vm_committed_as).toBe(3);
  });

  it("a huge len that does not wrap walks up to the first hole", () => {
    const e = holeWindow();
    e.fails(sys_mprotect(e.m, e.t, W, -W - PG, R), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 r--p 0", "5-8 rw-p 5"]);
  });

  it("EACCES on the second VMA leaves the first changed and the third untouched", () => {
    //  012345
    //  AABBCC   A, C anon r--; B shared r-- of an O_RDONLY fd
    const e = env();
    e.m.fs.create("/f", 4 * PG);
    const ro = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, R, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, R, MAP_SHARED | MAP_FIXED, ro, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, R, FIX, -1, 0));
    e.fails(sys_mprotect(e.m, e.t, W, 6 * PG, RW), EACCES);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", `2-4 r--s ${F0}`, "4-6 r--p 4"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd mr me ms");
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("rd mr mw me");
    expect(e.m.vm_committed_as).toBe(2);
  });
});

describe("mprotect: VM_MAY* and EACCES", () => {
  it("shared mapping of an O_RDONLY fd: WRITE is EACCES before any split; EXEC and NONE are fine", () => {
    const e = env();
    e.m.fs.create("/f", 4 * PG);
    const ro = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, R, MAP_SHARED | MAP_FIXED, ro, 0));
    e.fails(sys_mprotect(e.m, e.t, W + PG, 2 * PG, RW), EACCES);
    expect(layout(e.mm)).toEqual([`0-4 r--s ${F0}`]);
    e.ok(sys_mprotect(e.m, e.t, W + PG, 2 * PG, R | PROT_EXEC));
    expect(layout(e.mm)).toEqual([`0-1 r--s ${F0}`, `1-3 r-xs ${F0 + 1}`, `3-4 r--s ${F0 + 3}`]);
    expect(flagsAt(e.mm, W + PG)).toBe("rd ex mr me ms");
    e.fails(sys_mprotect(e.m, e.t, W, PG, PROT_WRITE), EACCES);
    e.ok(sys_mprotect(e.m, e.t, W, PG, PROT_NONE));
    expect(layout(e.mm)).toEqual([`0-1 ---s ${F0}`, `1-3 r-xs ${F0 + 1}`, `3-4 r--s ${F0 + 3}`]);
    expect(flagsAt(e.mm, W)).toBe("mr me ms");
    expect(e.mm.exec_vm).toBe(2);
  });

  it("a private mapping of an O_RDONLY fd becomes writable, gains VM_ACCOUNT, keeps it when read-only again", () => {
    const e = env();
    e.m.fs.create("/f", 4 * PG);
    const ro = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, R, MAP_PRIVATE | MAP_FIXED, ro, 0));
    expect(flagsAt(e.mm, W)).toBe("rd mr mw me");
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, RW));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect([e.mm.data_vm, e.m.vm_committed_as]).toEqual([2, 2]);
    // Only anonymous VMAs without an anon_vma give the charge back.
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, R));
    expect(flagsAt(e.mm, W)).toBe("rd mr mw me ac");
    expect([e.mm.data_vm, e.m.vm_committed_as]).toEqual([0, 2]);
  });

  it("a file on a noexec mount has no VM_MAYEXEC: EXEC is EACCES, WRITE (private) is fine", () => {
    const e = env();
    e.m.fs.create("/nx", 2 * PG, { noexec: true });
    const fd = e.ok(sys_open(e.m, e.t, "/nx", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, R, MAP_PRIVATE | MAP_FIXED, fd, 0));
    expect(flagsAt(e.mm, W)).toBe("rd mr mw");
    e.fails(sys_mprotect(e.m, e.t, W, 2 * PG, R | PROT_EXEC), EACCES);
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, RW));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw ac");
  });

  it("shared mappings (rw file, anonymous) change prot without VM_ACCOUNT or data_vm", () => {
    const e = env();
    e.m.fs.create("/f", 4 * PG);
    const rw = e.ok(sys_open(e.m, e.t, "/f", O_RDWR));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, MAP_SHARED | MAP_FIXED, rw, 0));
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, R));
    expect(flagsAt(e.mm, W)).toBe("rd sh mr mw me ms");
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, RW | PROT_EXEC));
    expect(flagsAt(e.mm, W)).toBe("rd wr ex sh mr mw me ms");
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    const before = e.m.vm_committed_as;
    e.ok(sys_mprotect(e.m, e.t, W + 4 * PG, PG, R));
    expect(layout(e.mm).slice(1)).toEqual([`4-5 r--s ${F0}`, `5-6 rw-s ${F0 + 1}`]);
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("rd sh mr mw me ms");
    expect(flagsAt(e.mm, W + 5 * PG)).toBe("rd wr sh mr mw me ms");
    expect([e.mm.data_vm, e.m.vm_committed_as]).toEqual([0, before]);
  });
});

describe("mprotect: READ_IMPLIES_EXEC", () => {
  it("PROT_READ adds PROT_EXEC where VM_MAYEXEC allows; write-only and noexec files do not", () => {
    //  012345
    //  NNNNFF   anon PROT_NONE, then a noexec file PROT_NONE
    const e = env({ spawn: { personality: READ_IMPLIES_EXEC } });
    e.m.fs.create("/nx", 2 * PG, { noexec: true });
    const fd = e.ok(sys_open(e.m, e.t, "/nx", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, PROT_NONE, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_FIXED, fd, 0));
    e.ok(sys_mprotect(e.m, e.t, W, PG, R));
    e.ok(sys_mprotect(e.m, e.t, W + PG, PG, RW));
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, PG, PROT_WRITE));
    e.ok(sys_mprotect(e.m, e.t, W + 4 * PG, 2 * PG, R));
    expect(layout(e.mm)).toEqual(["0-1 r-xp 0", "1-2 rwxp 1", "2-3 -w-p 2", "3-4 ---p 3", `4-6 r--p ${F0}`]);
    expect(flagsAt(e.mm, W)).toBe("rd ex mr mw me");
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr ex mr mw me ac");
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("wr mr mw me ac");
    expect(flagsAt(e.mm, W + 4 * PG)).toBe("rd mr mw");
    expect([e.mm.exec_vm, e.mm.data_vm]).toEqual([1, 2]);
  });
});

describe("mprotect: VM_ACCOUNT and the commit charge (T5, T6, T7)", () => {
  it("untouched anon rw->ro drops ac and the charge; back to rw recharges and re-merges", () => {
    //  012345
    //  AAAAAA   mprotect(2, 2, R) -> AA..AA, then back
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 6 * PG, RW, FIX, -1, 0));
    expect(e.m.vm_committed_as).toBe(6);
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 2 * PG, R));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 r--p 2", "4-6 rw-p 4"]);
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd mr mw me");
    expect([e.m.vm_committed_as, e.mm.data_vm, e.mm.total_vm]).toEqual([4, 4, 6]);
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 2 * PG, RW));
    expect(layout(e.mm)).toEqual(["0-6 rw-p 0"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect([e.m.vm_committed_as, e.mm.data_vm]).toEqual([6, 6]);
  });

  it("T6: a touched VMA keeps ac across rw->ro->rw, no charge moves, and it re-merges", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 6 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W, PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(layout(e.mm)).toEqual(["0-6 rw-p 0 a"]);
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 2 * PG, R));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0 a", "2-4 r--p 2 a", "4-6 rw-p 4 a"]);
    expect(flagsAt(e.mm, W + 2 * PG)).toBe("rd mr mw me ac");
    expect(e.m.vm_committed_as).toBe(6);
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 2 * PG, RW));
    expect(layout(e.mm)).toEqual(["0-6 rw-p 0 a"]);
    expect(e.m.vm_committed_as).toBe(6);
  });

  it("T7: a ro anon VMA next to a rw one gains ac when made rw, and merges", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, R, FIX, -1, 0));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 r--p 2"]);
    expect(e.m.vm_committed_as).toBe(2);
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 2 * PG, RW));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect(e.m.vm_committed_as).toBe(4);
  });

  it("MAP_NORESERVE never gains ac", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX | MAP_NORESERVE, -1, 0));
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, R));
    expect(flagsAt(e.mm, W)).toBe("rd mr mw me nr");
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, RW));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me nr");
    expect(e.m.vm_committed_as).toBe(0);
  });

  it("overcommit: ro->rw of more than RAM + swap is ENOMEM and changes nothing; 20 GiB of it fits", () => {
    const e = env();
    const n = (64 * GIB) / PG;
    e.ok(sys_mmap(e.m, e.t, W, 64 * GIB, R, FIX, -1, 0));
    e.fails(sys_mprotect(e.m, e.t, W, 64 * GIB, RW), ENOMEM);
    expect(layout(e.mm)).toEqual([`0-${n} r--p 0`]);
    expect(e.m.vm_committed_as).toBe(0);
    e.ok(sys_mprotect(e.m, e.t, W, 20 * GIB, RW));
    const k = (20 * GIB) / PG;
    expect(layout(e.mm)).toEqual([`0-${k} rw-p 0`, `${k}-${n} r--p ${k}`]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect(e.m.vm_committed_as).toBe(k);
  });
});

describe("mprotect: RLIMIT_DATA and RLIMIT_AS", () => {
  it("ro->rw beyond RLIMIT_DATA is ENOMEM; a part that fits is split off", () => {
    const e = env({ spawn: { rlimits: { DATA: 2 * PG } } });
    e.ok(sys_mmap(e.m, e.t, W, 3 * PG, R, FIX, -1, 0));
    e.fails(sys_mprotect(e.m, e.t, W, 3 * PG, RW), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-3 r--p 0"]);
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, RW));
    e.fails(sys_mprotect(e.m, e.t, W + 2 * PG, PG, RW), ENOMEM);
    e.fails(sys_mprotect(e.m, e.t, W + 2 * PG, PG, PROT_WRITE), ENOMEM);
    e.fails(sys_mprotect(e.m, e.t, W + 2 * PG, PG, RW | PROT_EXEC), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-3 r--p 2"]);
    expect(e.mm.data_vm).toBe(2);
  });

  it("a change between two data states is allowed even when both are over the limit", () => {
    const e = env({ spawn: { rlimits: { DATA: 2 * PG } } });
    e.ok(sys_mmap(e.m, e.t, W, 3 * PG, R, FIX, -1, 0));
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, RW));
    // may_expand_vm() counts the pages again: 2 + 2 > 2 for both the old and the new flags.
    e.ok(sys_mprotect(e.m, e.t, W, 2 * PG, RW | PROT_EXEC));
    e.ok(sys_mprotect(e.m, e.t, W, PG, RW));
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, PG, R | PROT_EXEC));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0", "1-2 rwxp 1", "2-3 r-xp 2"]);
    expect([e.mm.data_vm, e.mm.exec_vm]).toEqual([2, 1]);
  });

  it("shared and growsdown VMAs are not data; DATA 0 with an infinite hard limit is the Valgrind exception", () => {
    const e = env({ spawn: { rlimits: { DATA: 2 * PG } } });
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 2 * PG, R, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    e.ok(sys_mprotect(e.m, e.t, W + 8 * PG, 2 * PG, RW));
    e.ok(sys_mmap(e.m, e.t, W + 12 * PG, 2 * PG, R, FIX | MAP_GROWSDOWN, -1, 0));
    e.ok(sys_mprotect(e.m, e.t, W + 12 * PG, 2 * PG, RW));
    expect([e.mm.data_vm, e.mm.stack_vm]).toEqual([2, 2]);
    const v = env({ spawn: { rlimits: { DATA: 0 } } });
    v.ok(sys_mmap(v.m, v.t, W, 2 * PG, R, FIX, -1, 0));
    v.ok(sys_mprotect(v.m, v.t, W, 2 * PG, RW));
    const z = env({ spawn: { rlimits: { DATA: 0, DATA_max: 0 } } });
    z.ok(sys_mmap(z.m, z.t, W, 2 * PG, R, FIX, -1, 0));
    z.fails(sys_mprotect(z.m, z.t, W, 2 * PG, RW), ENOMEM);
  });

  it("RLIMIT_AS never fails mprotect (total_vm does not change)", () => {
    const e = env({ spawn: { rlimits: { AS: 4 * PG } } });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, R, FIX, -1, 0));
    e.ok(sys_mprotect(e.m, e.t, W, 4 * PG, RW));
    e.fails(sys_mmap(e.m, e.t, W + 8 * PG, PG, R, FIX, -1, 0), ENOMEM);
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0"]);
  });
});

describe("mprotect: split and merge", () => {
  it("the middle made equal to both neighbours merges all three; a head or tail merges into its neighbour", () => {
    //  012345
    //  AArrAA -> AAAAAA -> ArrrrA -> rrrrrA -> rrrrrr
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 6 * PG, RW, FIX, -1, 0));
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 2 * PG, R));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 r--p 2", "4-6 rw-p 4"]);
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 2 * PG, RW));
    expect(layout(e.mm)).toEqual(["0-6 rw-p 0"]);
    e.ok(sys_mprotect(e.m, e.t, W + PG, 4 * PG, R));
    expect(layout(e.mm)).toEqual(["0-1 rw-p 0", "1-5 r--p 1", "5-6 rw-p 5"]);
    e.ok(sys_mprotect(e.m, e.t, W, PG, R));
    expect(layout(e.mm)).toEqual(["0-5 r--p 0", "5-6 rw-p 5"]);
    e.ok(sys_mprotect(e.m, e.t, W + 5 * PG, PG, R));
    expect(layout(e.mm)).toEqual(["0-6 r--p 0"]);
    expect([e.mm.map_count, e.mm.data_vm, e.m.vm_committed_as]).toEqual([1, 0, 0]);
  });

  it("one call over four different VMAs leaves one, moving the data and exec counts", () => {
    //  01234567
    //  rrAAnnxx   r--, rw-, ---, r-x -> all r--
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, R, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, PROT_NONE, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 6 * PG, 2 * PG, R | PROT_EXEC, FIX, -1, 0));
    expect([e.mm.map_count, e.mm.data_vm, e.mm.exec_vm]).toEqual([4, 2, 2]);
    e.ok(sys_mprotect(e.m, e.t, W, 8 * PG, R));
    expect(layout(e.mm)).toEqual(["0-8 r--p 0"]);
    expect(flagsAt(e.mm, W)).toBe("rd mr mw me");
    expect([e.mm.total_vm, e.mm.data_vm, e.mm.exec_vm]).toEqual([8, 0, 0]);
  });

  it("T20: a touched r-- VMA made rw merges with its untouched neighbour and lends it its anon_vma", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, R, FIX | MAP_POPULATE, -1, 0));
    expect(layout(e.mm)).toEqual(["0-2 rw-p 0", "2-4 r--p 2 a"]);
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 2 * PG, RW));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a"]);
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me ac");
    expect(e.mm.rss_stat[MM_ANONPAGES]).toBe(2);
  });

  it("neighbours with different anon_vmas: the middle merges with one side only", () => {
    //  012345
    //  AArrBB   A and B populated separately
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 2 * PG, R, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, RW, FIX | MAP_POPULATE, -1, 0));
    expect(e.mm.mm_mt.lookup(W)!.anon_vma).not.toBe(e.mm.mm_mt.lookup(W + 4 * PG)!.anon_vma);
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 2 * PG, RW));
    expect(layout(e.mm)).toEqual(["0-4 rw-p 0 a", "4-6 rw-p 4 a"]);
  });
});

describe("mprotect: max_map_count", () => {
  it("at max-1 a middle change needs two splits: ENOMEM, and the first split stays", () => {
    //  0123
    //  AAAA   mprotect(1, 2, R) -> A|AAA (same flags, unmerged), ENOMEM
    const e = env({ profile: { maxMapCount: 8 }, checkMergeable: false });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, FIX, -1, 0));
    fillTo(e, 7);
    e.fails(sys_mprotect(e.m, e.t, W + PG, 2 * PG, R), ENOMEM);
    expect(win(e.mm)).toEqual(["0-1 rw-p 0", "1-4 rw-p 1"]);
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr mr mw me ac");
    expect([e.mm.map_count, e.mm.data_vm, e.m.vm_committed_as]).toEqual([8, 4, 4]);
  });

  it("a failed split gives back the commit charge taken for ro->rw", () => {
    const e = env({ profile: { maxMapCount: 8 }, checkMergeable: false });
    e.ok(sys_mmap(e.m, e.t, W, 3 * PG, R, FIX, -1, 0));
    fillTo(e, 7);
    e.fails(sys_mprotect(e.m, e.t, W + PG, PG, RW), ENOMEM);
    expect(win(e.mm)).toEqual(["0-1 r--p 0", "1-3 r--p 1"]);
    expect(flagsAt(e.mm, W + PG)).toBe("rd mr mw me");
    expect([e.m.vm_committed_as, e.mm.data_vm]).toEqual([0, 0]);
  });

  it("at max: head and tail splits are ENOMEM; a merge into the neighbour and whole-VMA changes are fine", () => {
    //  012345
    //  rrAAAA
    const e = env({ profile: { maxMapCount: 8 } });
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, R, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 4 * PG, RW, FIX, -1, 0));
    fillTo(e, 8);
    e.fails(sys_mprotect(e.m, e.t, W + 2 * PG, PG, PROT_NONE), ENOMEM);
    e.fails(sys_mprotect(e.m, e.t, W + 5 * PG, PG, PROT_NONE), ENOMEM);
    expect(win(e.mm)).toEqual(["0-2 r--p 0", "2-6 rw-p 2"]);
    // The head of B becomes r--: it moves into A, no new VMA.
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, PG, R));
    expect(win(e.mm)).toEqual(["0-3 r--p 0", "3-6 rw-p 3"]);
    e.ok(sys_mprotect(e.m, e.t, W + 3 * PG, 3 * PG, PROT_NONE));
    e.ok(sys_mprotect(e.m, e.t, W, 6 * PG, R));
    expect(win(e.mm)).toEqual(["0-6 r--p 0"]);
    expect(e.mm.map_count).toBe(7);
  });

  it("at max, a two-VMA change whose split is avoided by merging with the changed first VMA succeeds", () => {
    //  012345
    //  rrAAAA   mprotect(0, 4, NONE) -> nnnnAA
    const e = env({ profile: { maxMapCount: 8 } });
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, R, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 4 * PG, RW, FIX, -1, 0));
    fillTo(e, 8);
    expect(e.ok(sys_mprotect(e.m, e.t, W, 4 * PG, PROT_NONE))).toBe(0);
    expect(win(e.mm)).toEqual(["0-4 ---p 0", "4-6 rw-p 4"]);
    expect(e.mm.map_count).toBe(8);
  });

  it("at max+1 (reached through mmap), whole-VMA changes and merges still work", () => {
    const e = env({ profile: { maxMapCount: 8 } });
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, R, FIX, -1, 0));
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, 4 * PG, RW, FIX, -1, 0));
    fillTo(e, 8);
    e.ok(sys_mmap(e.m, e.t, W + 10 * PG, 2 * PG, R, FIX, -1, 0));
    expect(e.mm.map_count).toBe(9);
    e.ok(sys_mprotect(e.m, e.t, W + 10 * PG, 2 * PG, RW));
    e.ok(sys_mprotect(e.m, e.t, W + 2 * PG, 4 * PG, R));
    expect(win(e.mm)).toEqual(["0-6 r--p 0", "10-12 rw-p 10"]);
    expect(e.mm.map_count).toBe(8);
  });
});

describe("mprotect: locked mappings", () => {
  it("a locked private file mapping made writable is COWed at once (one fault per page)", () => {
    const e = env();
    cachedFile(e, "/f", 4 * PG);
    const ro = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, R, MAP_PRIVATE | MAP_FIXED, ro, 0));
    e.ok(sys_mlock(e.m, e.t, W, 4 * PG));
    // One fault maps the four cached pages (fault-around).
    expect([e.t.min_flt, e.t.maj_flt]).toEqual([1, 0]);
    expect([e.mm.rss_stat[MM_FILEPAGES], e.mm.rss_stat[MM_ANONPAGES]]).toEqual([4, 0]);
    e.ok(sys_mprotect(e.m, e.t, W, 4 * PG, RW));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect(e.t.min_flt).toBe(5);
    expect([e.mm.rss_stat[MM_FILEPAGES], e.mm.rss_stat[MM_ANONPAGES]]).toEqual([0, 4]);
    expect([e.mm.locked_vm, e.mm.data_vm]).toEqual([4, 4]);
    // Exclusive anonymous pages become writable again without faults.
    e.ok(sys_mprotect(e.m, e.t, W, 4 * PG, R));
    e.ok(sys_mprotect(e.m, e.t, W, 4 * PG, RW));
    expect(e.t.min_flt).toBe(5);
  });

  it("MAP_LOCKED ro anon made writable takes no fault: its exclusive pages just become writable", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, R, FIX | MAP_LOCKED, -1, 0));
    expect(flagsAt(e.mm, W)).toBe("rd mr mw me lo");
    expect([e.t.min_flt, e.mm.rss_stat[MM_ANONPAGES]]).toEqual([4, 4]);
    e.ok(sys_mprotect(e.m, e.t, W, 4 * PG, RW));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo ac");
    expect([e.t.min_flt, e.mm.rss_stat[MM_ANONPAGES], e.mm.locked_vm]).toEqual([4, 4, 4]);
  });

  it("MLOCK_ONFAULT mappings and shared mappings are not populated when made writable", () => {
    const e = env();
    cachedFile(e, "/f", 4 * PG);
    const ro = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, R, MAP_PRIVATE | MAP_FIXED, ro, 0));
    e.ok(sys_mlock2(e.m, e.t, W, 4 * PG, MLOCK_ONFAULT));
    e.ok(sys_mprotect(e.m, e.t, W, 4 * PG, RW));
    expect(flagsAt(e.mm, W)).toBe("rd wr mr mw me lo lf ac");
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 4 * PG, R, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    e.ok(sys_mlock2(e.m, e.t, W + 8 * PG, 4 * PG, MLOCK_ONFAULT));
    e.ok(sys_mprotect(e.m, e.t, W + 8 * PG, 4 * PG, RW));
    expect(flagsAt(e.mm, W + 8 * PG)).toBe("rd wr sh mr mw me ms lo lf");
    expect([e.t.min_flt, e.mm.get_mm_rss(), e.mm.locked_vm]).toEqual([0, 0, 8]);
  });

  it("the rw middle of a locked PROT_NONE VMA is populated by mprotect", () => {
    //  0123
    //  nnnn (locked) -> n AA n
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, PROT_NONE, FIX, -1, 0));
    e.fails(sys_mlock(e.m, e.t, W, 4 * PG), ENOMEM);
    expect([e.mm.locked_vm, e.t.min_flt]).toEqual([4, 0]);
    e.ok(sys_mprotect(e.m, e.t, W + PG, 2 * PG, RW));
    expect(layout(e.mm)).toEqual(["0-1 ---p 0", "1-3 rw-p 1 a", "3-4 ---p 3"]);
    expect(flagsAt(e.mm, W)).toBe("mr mw me lo");
    expect(flagsAt(e.mm, W + PG)).toBe("rd wr mr mw me lo ac");
    expect([e.mm.locked_vm, e.t.min_flt, e.mm.rss_stat[MM_ANONPAGES], e.mm.data_vm]).toEqual([4, 2, 2, 2]);
    expect(Array.from(e.ok(sys_mincore(e.m, e.t, W, 4 * PG)))).toEqual([0, 1, 1, 0]);
  });
});
