/**
 * The LRU lists without memory pressure: where pages land when they are made, mlocked, munlocked,
 * MADV_FREE'd and freed, and that a change of replacement policy keeps every page and its kind.
 * validate_machine() after every step recounts the lists, their links and the mlock counts.
 */
import { describe, expect, it } from "vitest";
import {
  MADV_FREE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  O_RDONLY,
  PROT_READ,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_pread } from "../../../src/core/fs/read_write.js";
import { PG_referenced } from "../../../src/core/mem/frames.js";
import {
  LRU_ACTIVE_ANON,
  LRU_CLASSIC,
  LRU_INACTIVE_ANON,
  LRU_INACTIVE_FILE,
  LRU_UNEVICTABLE,
} from "../../../src/core/mem/lru.js";
import { access_vm } from "../../../src/core/mm/access.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mlock, sys_munlock } from "../../../src/core/mm/mlock.js";
import { sys_mmap, sys_munmap } from "../../../src/core/mm/mmap.js";
import { do_fork } from "../../../src/core/task/fork.js";
import { env, fileOnDisk, PG, pfnAt, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

/** The list a page is on, by name. */
function listOf(e: ReturnType<typeof env>, addr: number): string {
  const l = e.m.frames.lruvec.lru[pfnAt(e.mm, addr)]! - 1;
  return ["inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"][l] ?? `none(${l})`;
}

describe("LRU placement", () => {
  it("new anonymous pages go to the inactive anon list, page-cache pages to the inactive file list", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, ANON | MAP_POPULATE, -1, 0));
    fileOnDisk(e.m, "/f", 2, 1);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, 2 * PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0));
    access_vm(e.m, e.t, W + 8 * PG, 1, "read");
    e.check();
    expect([listOf(e, W), listOf(e, W + 3 * PG), listOf(e, W + 8 * PG)]).toEqual([
      "inactive_anon",
      "inactive_anon",
      "inactive_file",
    ]);
    const nr = e.m.frames.lruvec.nr_pages;
    expect(nr[LRU_INACTIVE_ANON]).toBe(4);
    expect(nr[LRU_INACTIVE_FILE]).toBe(2);
    // Freed pages leave their list.
    e.ok(sys_munmap(e.m, e.t, W, 4 * PG));
    expect(nr[LRU_INACTIVE_ANON]).toBe(0);
  });

  it("mlock moves pages to the unevictable list while a locked VMA maps them; fork shares them", () => {
    const e = env({ spawn: { caps: { CAP_IPC_LOCK: true } } });
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, ANON | MAP_POPULATE, -1, 0));
    e.ok(sys_mlock(e.m, e.t, W + PG, 2 * PG));
    expect([0, 1, 2, 3].map((i) => listOf(e, W + i * PG))).toEqual([
      "inactive_anon",
      "unevictable",
      "unevictable",
      "inactive_anon",
    ]);
    expect(e.m.frames.lruvec.nr_mlock).toBe(2);
    // The child's VMA is not locked; the shared pages stay mlocked through the parent's.
    const c = e.ok(do_fork(e.m, e.t, 0));
    e.check();
    expect(e.m.frames.lruvec.mlock_count[pfnAt(e.mm, W + PG)]).toBe(1);
    expect(pfnAt(c.mm!, W + PG)).toBe(pfnAt(e.mm, W + PG));
    // A write in the parent copies: the new page is the locked one, the old stays in the child.
    const old = pfnAt(e.mm, W + PG);
    access_vm(e.m, e.t, W + PG, 1, "write", Uint8Array.of(1));
    e.check();
    expect(listOf(e, W + PG)).toBe("unevictable");
    expect(e.m.frames.lruvec.lru[old]! - 1).toBe(LRU_INACTIVE_ANON);
    e.ok(sys_munlock(e.m, e.t, W, 4 * PG));
    expect([0, 1, 2, 3].map((i) => listOf(e, W + i * PG))).toEqual(Array(4).fill("inactive_anon"));
    expect(e.m.frames.lruvec.nr_pages[LRU_UNEVICTABLE]).toBe(0);
  });

  it("MADV_FREE moves anonymous pages to the inactive file list (lazily freeable)", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, ANON | MAP_POPULATE, -1, 0));
    e.ok(sys_madvise(e.m, e.t, W, PG, MADV_FREE));
    expect([listOf(e, W), listOf(e, W + PG)]).toEqual(["inactive_file", "inactive_anon"]);
    expect(e.m.vm_events.pglazyfree).toBe(1);
    // Again: nothing moves, nothing is counted twice.
    e.ok(sys_madvise(e.m, e.t, W, PG, MADV_FREE));
    expect(e.m.vm_events.pglazyfree).toBe(1);
  });

  it("a change of replacement policy keeps every page, its kind and the order of each kind", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 3 * PG, RW, ANON | MAP_POPULATE, -1, 0));
    fileOnDisk(e.m, "/f", 1, 1);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    e.ok(sys_mmap(e.m, e.t, W + 8 * PG, PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0));
    access_vm(e.m, e.t, W + 8 * PG, 1, "read");
    const lruvec = e.m.frames.lruvec;
    const before = [...lruvec.nr_pages];
    const anon = lruvec.pages(LRU_INACTIVE_ANON);
    e.m.profile.replacementPolicy = "clock";
    e.m.profile_changed();
    e.check();
    expect(lruvec.nr_pages).toEqual(before);
    expect(lruvec.pages(LRU_INACTIVE_ANON)).toEqual([]);
    const classic = lruvec.pages(LRU_CLASSIC);
    expect(classic.filter((p) => anon.includes(p))).toEqual(anon);
    expect(classic.length).toBe(before[LRU_INACTIVE_ANON]! + before[LRU_INACTIVE_FILE]!);
    e.m.profile.replacementPolicy = "linux";
    e.m.profile_changed();
    e.check();
    expect(lruvec.pages(LRU_INACTIVE_ANON)).toEqual(anon);
    expect(lruvec.nr_pages[LRU_ACTIVE_ANON]).toBe(0);
  });
});

describe("read(2) and the referenced bit", () => {
  it("linux and clock keep a read page's referenced bit; fifo and lru have none to keep", () => {
    for (const [policy, referenced] of [
      ["linux", true],
      ["clock", true],
      ["fifo", false],
      ["lru", false],
    ] as const) {
      const e = env({ profile: { replacementPolicy: policy } });
      fileOnDisk(e.m, "/f", 1, 1);
      const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
      expect(sys_pread(e.m, e.t, fd, 16, 0).ok).toBe(true);
      const pfn = e.m.fs.lookup("/f")!.i_pages.get(0)!;
      expect((e.m.frames.flags[pfn]! & PG_referenced) !== 0, policy).toBe(referenced);
      e.check();
    }
  });
});
