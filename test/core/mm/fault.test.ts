/**
 * Page faults, one kind per test, in the kernel's terms (mm/memory.c handle_mm_fault and
 * arch/x86/mm/fault.c): a picture of the window, one access, then exact PTE state, frame
 * refcount/mapcount, RSS counters, fault counts and bytes, and validate_machine().
 *
 * Pictures: one column per page of the window W. A = anonymous private rw, F = a file mapping,
 * . = hole. Below a picture, what the PTEs hold: - none, P a page, Z the zero page, C cached but
 * not mapped. Expectations come from the kernel (probes flt, zp, zp2, stack, gap in
 * /work/shared/reference/probes, and the conformance suite's fault profile).
 */
import { describe, expect, it } from "vitest";
import {
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MCL_CURRENT,
  O_RDONLY,
  O_RDWR,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_pread } from "../../../src/core/fs/read_write.js";
import { access_vm } from "../../../src/core/mm/access.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mincore } from "../../../src/core/mm/mincore.js";
import { sys_mlockall } from "../../../src/core/mm/mlock.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { sys_mprotect } from "../../../src/core/mm/mprotect.js";
import { sys_mremap } from "../../../src/core/mm/mremap.js";
import { validate_machine, validate_mm } from "../../../src/core/mm/validate.js";
import { do_execve } from "../../../src/core/task/exec.js";
import { do_fork } from "../../../src/core/task/fork.js";
import {
  bytes,
  cachedFile,
  type Env,
  env,
  fileOnDisk,
  frame,
  layout,
  PG,
  pfnAt,
  ptes,
  rss,
  text,
  W,
} from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

function anon(e: Env, pages: number, prot = RW, at = W): void {
  e.ok(sys_mmap(e.m, e.t, at, pages * PG, prot, ANON, -1, 0));
}

function fileMap(
  e: Env,
  path: string,
  pages: number,
  prot: number,
  flags: number,
  pgoff = 0,
  at = W,
): number {
  const fd = e.ok(sys_open(e.m, e.t, path, prot & PROT_WRITE && flags & MAP_SHARED ? O_RDWR : O_RDONLY));
  e.ok(sys_mmap(e.m, e.t, at, pages * PG, prot, flags | MAP_FIXED, fd, pgoff * PG));
  return fd;
}

function read(e: Env, addr: number, len = 1) {
  const r = access_vm(e.m, e.t, addr, len, "read");
  e.check();
  return r;
}

function write(e: Env, addr: number, s: string | Uint8Array) {
  const data = typeof s === "string" ? bytes(s) : s;
  const r = access_vm(e.m, e.t, addr, data.length, "write", data);
  e.check();
  return r;
}

describe("anonymous memory: demand-zero (do_anonymous_page)", () => {
  /*
   * W: 0123
   *    AAAA  untouched
   * write "x" at page 1 + 5
   *    -P--  a new zeroed page, exclusive, its PTE writable and dirty
   */
  it("a write to an untouched page allocates a zeroed exclusive page: one minor fault", () => {
    const e = env();
    anon(e, 4);
    const r = write(e, W + PG + 5, "x");
    expect(r).toMatchObject({ done: 1, minor: 1, major: 0 });
    expect(r.signal).toBeUndefined();
    expect(ptes(e.mm, W, 4)).toEqual(["none", "pwdy", "none", "none"]);
    expect(frame(e.m, pfnAt(e.mm, W + PG))).toBe("anon ref1 map1 excl");
    expect(rss(e.mm)).toBe("anon 1 file 0 shmem 0 swap 0");
    expect(e.t.min_flt).toBe(1);
    expect(e.mm.pgd.nr_ptes).toBe(1);
    expect(e.mm.mm_mt.lookup(W)!.anon_vma).not.toBeNull();
    // Reading it back takes no fault: the page holds the byte and zeros.
    const back = read(e, W + PG, PG);
    expect(back.minor).toBe(0);
    expect(back.data[5]).toBe("x".charCodeAt(0));
    expect(back.data.reduce((a, b) => a + b, 0)).toBe("x".charCodeAt(0));
  });

  /*
   * W: 01
   *    AA
   * read page 0 (no zero page: this host's pvm_no_zero_page)
   *    P-    a real page, mapped writable and dirty as for a write
   */
  it("without a zero page, a read allocates a page too, and the later write takes no fault", () => {
    const e = env({ profile: { zeroPage: false } });
    anon(e, 2);
    const r = read(e, W, 8);
    expect(r).toMatchObject({ minor: 1, major: 0 });
    expect([...r.data]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ptes(e.mm, W, 2)).toEqual(["pwdy", "none"]);
    expect(rss(e.mm)).toBe("anon 1 file 0 shmem 0 swap 0");
    expect(write(e, W, "y").minor).toBe(0);
  });

  /*
   * W: 01
   *    AA
   * read page 0 (stock kernel)
   *    Z-    the shared zero page, read-only, special: no RSS, no refcount
   * write page 0
   *    P-    a write-protect fault replaces it with a new page
   */
  it("with a zero page, a read maps it (RSS unchanged, mincore 1) and the first write faults again", () => {
    const e = env({ profile: { zeroPage: true } });
    anon(e, 2);
    const used = e.m.frames.nr_used;
    const r = read(e, W, 16);
    expect(r.minor).toBe(1);
    expect(r.data.every((b) => b === 0)).toBe(true);
    expect(ptes(e.mm, W, 2)).toEqual(["p--y zero", "none"]);
    expect(pfnAt(e.mm, W)).toBe(e.m.frames.zero_pfn);
    expect(rss(e.mm)).toBe("anon 0 file 0 shmem 0 swap 0");
    expect(e.m.frames.nr_used).toBe(used);
    const mc = sys_mincore(e.m, e.t, W, 2 * PG);
    expect(mc.ok && [...mc.value]).toEqual([1, 0]);
    // The VMA got no anon_vma from the zero page.
    expect(e.mm.mm_mt.lookup(W)!.anon_vma).toBeNull();
    const w = write(e, W + 3, "z");
    expect(w.minor).toBe(1);
    expect(ptes(e.mm, W, 1)).toEqual(["pwdy"]);
    expect(frame(e.m, pfnAt(e.mm, W))).toBe("anon ref1 map1 excl");
    expect(rss(e.mm)).toBe("anon 1 file 0 shmem 0 swap 0");
    expect(e.t.min_flt).toBe(2);
    expect(read(e, W, 4).data).toEqual(new Uint8Array([0, 0, 0, "z".charCodeAt(0)]));
  });

  /*
   * W: 0123
   *    PPPP  written, then fork: parent and child share the pages write-protected
   */
  it("fork write-protects private pages in both mms and shares them (no copy yet)", () => {
    const e = env();
    anon(e, 4);
    write(e, W, new Uint8Array(4 * PG).fill(7));
    const pfns = [0, 1, 2, 3].map((i) => pfnAt(e.mm, W + i * PG));
    const c = do_fork(e.m, e.t, 0);
    if (!c.ok) throw new Error("fork");
    e.check();
    const cm = c.value.mm!;
    expect(ptes(e.mm, W, 4)).toEqual(["p-dy", "p-dy", "p-dy", "p-dy"]);
    // The child's PTEs are old (not young) and otherwise the same.
    expect(ptes(cm, W, 4)).toEqual(["p-d-", "p-d-", "p-d-", "p-d-"]);
    expect([0, 1, 2, 3].map((i) => pfnAt(cm, W + i * PG))).toEqual(pfns);
    expect(frame(e.m, pfns[0]!)).toBe("anon ref2 map2");
    expect(rss(cm)).toBe("anon 4 file 0 shmem 0 swap 0");
  });

  /*
   * after fork:   parent PPPP  child PPPP (shared, read-only)
   * parent writes page 0: a copy (the child still maps the original)
   *        parent: P'PPP        child: PPPP
   */
  it("copy-on-write: the writer gets a copy with the old bytes, the other side keeps the original", () => {
    const e = env();
    anon(e, 4);
    write(e, W, "parent bytes");
    const old = pfnAt(e.mm, W);
    const c = do_fork(e.m, e.t, 0);
    if (!c.ok) throw new Error("fork");
    const child = c.value;
    const used = e.m.frames.nr_used;
    const r = write(e, W + 7, "BYTES");
    expect(r.minor).toBe(1);
    const copy = pfnAt(e.mm, W);
    expect(copy).not.toBe(old);
    expect(e.m.frames.nr_used).toBe(used + 1);
    expect(ptes(e.mm, W, 1)).toEqual(["pwdy"]);
    expect(frame(e.m, copy)).toBe("anon ref1 map1 excl");
    expect(frame(e.m, old)).toBe("anon ref1 map1");
    expect(rss(e.mm)).toBe("anon 1 file 0 shmem 0 swap 0");
    expect(text(read(e, W, 12).data)).toBe("parent BYTES");
    expect(text(access_vm(e.m, child, W, 12, "read").data)).toBe("parent bytes");
  });

  /*
   * after fork and the child's own copy:  parent P (mapcount 1, not exclusive)  child P'
   * parent writes: the page is only its own now, so it is reused, not copied
   */
  it("copy-on-write reuse: the last mapper of a shared page takes it back without a copy", () => {
    const e = env();
    anon(e, 1);
    write(e, W, "abc");
    const pfn = pfnAt(e.mm, W);
    const c = do_fork(e.m, e.t, 0);
    if (!c.ok) throw new Error("fork");
    expect(access_vm(e.m, c.value, W, 1, "write", bytes("C")).minor).toBe(1);
    e.check();
    expect(frame(e.m, pfn)).toBe("anon ref1 map1");
    const used = e.m.frames.nr_used;
    const r = write(e, W + 1, "B");
    expect(r.minor).toBe(1);
    expect(pfnAt(e.mm, W)).toBe(pfn);
    expect(e.m.frames.nr_used).toBe(used);
    expect(frame(e.m, pfn)).toBe("anon ref1 map1 excl");
    expect(ptes(e.mm, W, 1)).toEqual(["pwdy"]);
    expect(text(read(e, W, 3).data)).toBe("aBc");
    expect(text(access_vm(e.m, c.value, W, 3, "read").data)).toBe("Cbc");
  });
});

describe("file mappings: the page cache", () => {
  /*
   * W: 0...15 16...31 32...63
   *    F (64 pages, private, read-only; every page cached)
   * read page 20: one minor fault; fault-around maps the 16-page aligned window 16..31
   *    -       PPPPPPP  -
   */
  it("page-cache hit: a minor fault that maps the cached 64 KiB window around the page", () => {
    const e = env();
    cachedFile(e, "/f", 64 * PG);
    fileMap(e, "/f", 64, PROT_READ, MAP_PRIVATE);
    const r = read(e, W + 20 * PG);
    expect(r).toMatchObject({ minor: 1, major: 0 });
    const p = ptes(e.mm, W, 64);
    expect(p.slice(0, 16).every((x) => x === "none")).toBe(true);
    expect(p.slice(16, 32)).toEqual(new Array(16).fill("p--y"));
    expect(p.slice(32).every((x) => x === "none")).toBe(true);
    expect(rss(e.mm)).toBe("anon 0 file 16 shmem 0 swap 0");
    // Page-cache frames: one reference from the cache and one from the PTE.
    expect(frame(e.m, pfnAt(e.mm, W + 20 * PG))).toBe("file ref2 map1");
    // Page 21 is already mapped; page 40 faults and maps 32..47.
    expect(read(e, W + 21 * PG).minor).toBe(0);
    expect(read(e, W + 40 * PG).minor).toBe(1);
    expect(rss(e.mm)).toBe("anon 0 file 32 shmem 0 swap 0");
  });

  /*
   * W: 01234567
   *    ..FFFFF.   a 5-page VMA at file page 2, in a 16-page window
   * read page 4 maps the whole VMA, never beyond it
   */
  it("fault-around stops at the VMA's edges and at end of file", () => {
    const e = env();
    cachedFile(e, "/f", 32 * PG);
    fileMap(e, "/f", 5, PROT_READ, MAP_PRIVATE, 2, W + 2 * PG);
    read(e, W + 4 * PG);
    expect(ptes(e.mm, W, 8)).toEqual(["none", "none", "p--y", "p--y", "p--y", "p--y", "p--y", "none"]);
    // A 16-page VMA over a 10-page file: only the 10 pages inside the file.
    const e2 = env();
    cachedFile(e2, "/g", 10 * PG);
    fileMap(e2, "/g", 16, PROT_READ, MAP_PRIVATE);
    read(e2, W + 3 * PG);
    expect(rss(e2.mm)).toBe("anon 0 file 10 shmem 0 swap 0");
  });

  /*
   * 64-page file, nothing cached; read-ahead 128 KiB (32 pages, the stock default)
   * read page 20: a major fault; read-around caches pages 4..35, the retry maps 16..31
   */
  it("page-cache miss: a major fault; read-around fills the cache around the page", () => {
    const e = env({ profile: { readAheadKb: 128 } });
    fileOnDisk(e.m, "/f", 64, 1);
    fileMap(e, "/f", 64, PROT_READ, MAP_PRIVATE);
    const r = read(e, W + 20 * PG, 2);
    expect(r).toMatchObject({ minor: 0, major: 1 });
    expect([...r.data]).toEqual([21, 21]);
    expect(e.t.maj_flt).toBe(1);
    const cached = [...e.m.fs.lookup("/f")!.i_pages.keys()].sort((a, b) => a - b);
    expect(cached).toEqual(Array.from({ length: 32 }, (_, i) => 4 + i));
    expect(rss(e.mm)).toBe("anon 0 file 16 shmem 0 swap 0");
    // mincore reports page-cache residency, mapped or not.
    const mc = sys_mincore(e.m, e.t, W, 64 * PG);
    expect(mc.ok && mc.value.join("")).toBe(`${"0".repeat(4)}${"1".repeat(32)}${"0".repeat(28)}`);
    // Page 36 is not cached: major again.
    expect(read(e, W + 36 * PG).major).toBe(1);
  });

  it("read-around on this host's disk (read_ahead_kb 8192) reads the whole small file", () => {
    // Observed: a 64-page file, page 20 -> majflt 1, all 64 pages cached, page 21 no fault, page 50 minor.
    const e = env({ profile: { readAheadKb: 8192 } });
    fileOnDisk(e.m, "/f", 64, 1);
    fileMap(e, "/f", 64, PROT_READ, MAP_PRIVATE);
    expect(read(e, W + 20 * PG)).toMatchObject({ minor: 0, major: 1 });
    expect(e.m.fs.lookup("/f")!.i_pages.size).toBe(64);
    expect(read(e, W + 21 * PG)).toMatchObject({ minor: 0, major: 0 });
    expect(read(e, W + 50 * PG)).toMatchObject({ minor: 1, major: 0 });
  });

  it("MADV_RANDOM reads only the page; MADV_SEQUENTIAL reads ahead from it", () => {
    const e = env({ profile: { readAheadKb: 128 } });
    fileOnDisk(e.m, "/f", 64, 1);
    fileMap(e, "/f", 64, PROT_READ, MAP_PRIVATE);
    e.ok(sys_madvise(e.m, e.t, W, 64 * PG, MADV_RANDOM));
    expect(read(e, W + 20 * PG).major).toBe(1);
    expect([...e.m.fs.lookup("/f")!.i_pages.keys()]).toEqual([20]);
    expect(rss(e.mm)).toBe("anon 0 file 1 shmem 0 swap 0");
    e.ok(sys_madvise(e.m, e.t, W, 64 * PG, MADV_SEQUENTIAL));
    expect(read(e, W + 40 * PG).major).toBe(1);
    const cached = [...e.m.fs.lookup("/f")!.i_pages.keys()].sort((a, b) => a - b);
    expect(cached).toEqual([20, ...Array.from({ length: 24 }, (_, i) => 40 + i)]);
  });

  /*
   * two tasks map the same file MAP_SHARED (rw); every page cached
   * task 1 writes page 0: the page-cache page itself becomes writable and dirty
   */
  it("shared-file write: the page-cache page, dirty, seen by every mapper and by read(2)", () => {
    const e = env();
    cachedFile(e, "/f", 4 * PG);
    const fd = fileMap(e, "/f", 4, RW, MAP_SHARED);
    const c = do_fork(e.m, e.t, 0);
    if (!c.ok) throw new Error("fork");
    const child = c.value;
    // fork copies no PTEs for a shared file VMA (it has no anon_vma).
    expect(child.mm!.get_mm_rss()).toBe(0);
    const w = write(e, W + 100, "shared!");
    expect(w.minor).toBe(1);
    const pfn = pfnAt(e.mm, W);
    expect(pfn).toBe(e.m.fs.lookup("/f")!.i_pages.get(0));
    expect(ptes(e.mm, W, 1)).toEqual(["pwdy"]);
    expect(frame(e.m, pfn)).toBe("file ref2 map1 dirty");
    // The other mapper faults the same page in (fault-around, read-only) and sees the bytes.
    const r = access_vm(e.m, child, W + 100, 7, "read");
    e.check();
    expect(r.minor).toBe(1);
    expect(text(r.data)).toBe("shared!");
    expect(pfnAt(child.mm!, W)).toBe(pfn);
    expect(frame(e.m, pfn)).toBe("file ref3 map2 dirty");
    // And so does the file.
    const f = sys_pread(e.m, e.t, fd, 7, 100);
    expect(f.ok && text(f.value)).toBe("shared!");
    // A write by the child to a page it maps read-only takes a write-protect fault, no copy.
    const cw = access_vm(e.m, child, W + 100, 1, "write", bytes("S"));
    e.check();
    expect(cw.minor).toBe(1);
    expect(pfnAt(child.mm!, W)).toBe(pfn);
    expect(text(read(e, W + 100, 7).data)).toBe("Shared!");
  });

  /*
   * W: 0123
   *    FFFF private rw mapping of a cached file
   * write page 1 (not mapped): do_cow_fault, a private anonymous copy
   * read page 0: fault-around maps the file pages around it, not page 1
   * write page 0 (mapped read-only): a copy replaces the file page
   */
  it("private-file write: a private copy, the file and other mappers unchanged", () => {
    const e = env();
    fileOnDisk(e.m, "/f", 4, 0x41);
    const fd = fileMap(e, "/f", 4, RW, MAP_PRIVATE);
    const w = write(e, W + PG, "mine");
    expect(w).toMatchObject({ minor: 0, major: 1 });
    expect(ptes(e.mm, W, 4)).toEqual(["none", "pwdy", "none", "none"]);
    expect(frame(e.m, pfnAt(e.mm, W + PG))).toBe("anon ref1 map1 excl");
    expect(rss(e.mm)).toBe("anon 1 file 0 shmem 0 swap 0");
    expect(text(read(e, W + PG, 6).data)).toBe("mineBB");
    // A read elsewhere maps the cached file pages around it (page 1 is already present).
    expect(read(e, W, 1).minor).toBe(1);
    expect(ptes(e.mm, W, 4)).toEqual(["p--y", "pwdy", "p--y", "p--y"]);
    expect(rss(e.mm)).toBe("anon 1 file 3 shmem 0 swap 0");
    // Writing a page mapped from the cache copies it: RssFile -1, RssAnon +1.
    expect(write(e, W, "x").minor).toBe(1);
    expect(rss(e.mm)).toBe("anon 2 file 2 shmem 0 swap 0");
    expect(frame(e.m, e.m.fs.lookup("/f")!.i_pages.get(0)!)).toBe("file ref1 map0");
    const f = sys_pread(e.m, e.t, fd, 4, PG);
    expect(f.ok && text(f.value)).toBe("BBBB");
  });

  /*
   * a 10000-byte file (two full pages and a partial one) mapped with 4 pages:
   *    FFF|F   the last page is wholly beyond end of file
   */
  it("beyond end of file: the partial page's tail reads zero, the next page is SIGBUS BUS_ADRERR", () => {
    const e = env();
    fileOnDisk(e.m, "/f", 3, 0x61, 10000);
    fileMap(e, "/f", 4, RW, MAP_SHARED);
    const tail = read(e, W + 10000 - 2, 4);
    expect([...tail.data]).toEqual([0x63, 0x63, 0, 0]);
    for (const kind of ["read", "write"] as const) {
      const r = access_vm(e.m, e.t, W + 3 * PG + 8, 1, kind, bytes("q"));
      e.check();
      expect(r.signal).toEqual({ signo: "SIGBUS", code: "BUS_ADRERR", addr: W + 3 * PG + 8 });
      expect(r.minor + r.major).toBe(0);
    }
    // Also for a private mapping's write fault.
    const e2 = env();
    fileOnDisk(e2.m, "/f", 1, 1, 100);
    fileMap(e2, "/f", 2, RW, MAP_PRIVATE);
    expect(access_vm(e2.m, e2.t, W + PG, 1, "write", bytes("q")).signal?.code).toBe("BUS_ADRERR");
    e2.check();
  });
});

describe("access errors: signals and si_codes", () => {
  it("no VMA: SIGSEGV SEGV_MAPERR at the exact address; failed faults are not counted", () => {
    const e = env();
    anon(e, 1, RW, W + PG);
    const r = read(e, W + 123);
    expect(r.signal).toEqual({ signo: "SIGSEGV", code: "SEGV_MAPERR", addr: W + 123 });
    expect(r.done).toBe(0);
    expect(e.t.min_flt).toBe(0);
  });

  it("an access stops at the first fault: the bytes before it are stored", () => {
    const e = env();
    anon(e, 1);
    const r = write(e, W + PG - 3, "abcdef");
    expect(r.done).toBe(3);
    expect(r.signal).toEqual({ signo: "SIGSEGV", code: "SEGV_MAPERR", addr: W + PG });
    expect(text(read(e, W + PG - 3, 3).data)).toBe("abc");
  });

  it("a guard region (MADV_GUARD_INSTALL) faults with SEGV_MAPERR, the VMA stays", () => {
    const e = env();
    anon(e, 3);
    e.ok(sys_madvise(e.m, e.t, W + PG, PG, MADV_GUARD_INSTALL));
    expect(ptes(e.mm, W, 3)).toEqual(["none", "guard", "none"]);
    expect(read(e, W + PG + 1).signal).toEqual({ signo: "SIGSEGV", code: "SEGV_MAPERR", addr: W + PG + 1 });
    expect(write(e, W, "ok").signal).toBeUndefined();
    expect(layout(e.mm)).toEqual(["0-3 rw-p 0 a"]);
  });

  it("no permission: SEGV_ACCERR for PROT_NONE, writes to r--, fetches from rw-", () => {
    const e = env();
    anon(e, 1, PROT_NONE);
    anon(e, 1, PROT_READ, W + PG);
    anon(e, 1, RW, W + 2 * PG);
    expect(read(e, W).signal?.code).toBe("SEGV_ACCERR");
    expect(write(e, W + PG, "w").signal?.code).toBe("SEGV_ACCERR");
    // An instruction fetch from a page not present is first a read fault (the page comes in, one
    // minor fault), then the retried fetch hits NX: SEGV_ACCERR. The next fetch faults at once.
    const x = access_vm(e.m, e.t, W + 2 * PG + 9, 1, "exec");
    expect(x.signal).toEqual({ signo: "SIGSEGV", code: "SEGV_ACCERR", addr: W + 2 * PG + 9 });
    expect(x.minor).toBe(1);
    expect(ptes(e.mm, W + 2 * PG, 1)).toEqual(["pwdy"]);
    expect(access_vm(e.m, e.t, W + 2 * PG + 9, 1, "exec")).toMatchObject({ minor: 0, done: 0 });
    // A read of r-- is fine, and so are reads of -w- and --x on x86 without protection keys.
    expect(read(e, W + PG).signal).toBeUndefined();
    anon(e, 1, PROT_WRITE, W + 3 * PG);
    anon(e, 1, PROT_EXEC, W + 4 * PG);
    expect(read(e, W + 3 * PG).signal).toBeUndefined();
    expect(read(e, W + 4 * PG).signal).toBeUndefined();
    expect(e.t.min_flt).toBe(4);
  });

  it("with protection keys, PROT_EXEC alone is execute-only: reads get SEGV_PKUERR", () => {
    const e = env({ profile: { pku: true } });
    anon(e, 1, PROT_EXEC);
    expect(read(e, W).signal?.code).toBe("SEGV_PKUERR");
    expect(access_vm(e.m, e.t, W, 1, "exec").signal).toBeUndefined();
  });

  it("non-canonical addresses: SIGSEGV SI_KERNEL with no address; the kernel half is SEGV_MAPERR", () => {
    const e = env();
    expect(read(e, 2 ** 47).signal).toEqual({ signo: "SIGSEGV", code: "SI_KERNEL", addr: 0 });
    expect(read(e, 2 ** 63 - 4096).signal).toEqual({ signo: "SIGSEGV", code: "SI_KERNEL", addr: 0 });
    // 0xffffffffff600000 (the vsyscall page), as a negative two's-complement address.
    expect(read(e, -0xa00000).signal).toEqual({ signo: "SIGSEGV", code: "SEGV_MAPERR", addr: -0xa00000 });
    expect(read(e, TASK_SIZE).signal?.code).toBe("SEGV_MAPERR");
  });
});

describe("stack growth (expand_downwards)", () => {
  /** An exec'ed task: [stack] 0x7ffffffde000-0x7ffffffff000 with ASLR off. */
  function stackEnv() {
    const e = env({ checkMergeable: false });
    e.ok(do_execve(e.m, e.t, {}));
    // execve gave the task a new mm.
    const mm = e.t.mm!;
    const stack = mm.mm_mt.last()!;
    expect(stack.vm_start).toBe(0x7ffffffde000);
    return { e, mm, stack, end: stack.vm_end };
  }

  it("a fault below the stack grows it down to the page, with no check against the stack pointer", () => {
    const { e, mm, stack } = stackEnv();
    const start = stack.vm_start;
    const vm = mm.total_vm;
    const r = write(e, start - 1, "g");
    expect(r.signal).toBeUndefined();
    expect(r.minor).toBe(1);
    expect(stack.vm_start).toBe(start - PG);
    expect(mm.total_vm).toBe(vm + 1);
    // One access 1 MiB below grows it by 1 MiB at once.
    expect(read(e, start - PG - 2 ** 20).signal).toBeUndefined();
    expect(stack.vm_start).toBe(start - PG - 2 ** 20);
    expect(mm.stack_vm).toBe(0x21 + 1 + 256);
  });

  it("RLIMIT_STACK bounds the stack's size from its top: exactly 8 MiB grows, one page more is MAPERR", () => {
    const { e, stack, end } = stackEnv();
    expect(read(e, end - 8 * 2 ** 20 - PG).signal?.code).toBe("SEGV_MAPERR");
    expect(read(e, end - 8 * 2 ** 20).signal).toBeUndefined();
    expect(stack.vm_end - stack.vm_start).toBe(8 * 2 ** 20);
  });

  it("the guard gap: an accessible VMA less than 1 MiB below refuses growth; PROT_NONE does not", () => {
    const { e, stack } = stackEnv();
    const g = stack.vm_start;
    // A read-only page ending 1 MiB + 4 KiB below the stack: growing one page leaves exactly
    // 1 MiB of gap (allowed), a second page would leave less (refused).
    anon(e, 1, PROT_READ, g - 2 ** 20 - 2 * PG);
    expect(read(e, g - 1).signal).toBeUndefined();
    expect(stack.vm_start).toBe(g - PG);
    expect(read(e, g - PG - 1).signal).toEqual({ signo: "SIGSEGV", code: "SEGV_MAPERR", addr: g - PG - 1 });
    expect(stack.vm_start).toBe(g - PG);
    // A PROT_NONE neighbour lets the stack grow right up to it.
    const e2 = stackEnv();
    const g2 = e2.stack.vm_start;
    anon(e2.e, 1, PROT_NONE, g2 - 2 * PG);
    expect(read(e2.e, g2 - PG).signal).toBeUndefined();
    expect(e2.stack.vm_start).toBe(g2 - PG);
  });

  it("MAP_GROWSDOWN mappings grow the same way; below a non-growsdown VMA is MAPERR", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W + 64 * PG, 2 * PG, RW, ANON | MAP_GROWSDOWN, -1, 0));
    expect(write(e, W + 60 * PG, "d").signal).toBeUndefined();
    expect(layout(e.mm)).toEqual(["60-66 rw-p 60 a"]);
    anon(e, 1, RW, W + 80 * PG);
    expect(read(e, W + 79 * PG).signal?.code).toBe("SEGV_MAPERR");
  });
});

describe("[vvar], [vvar_vclock] and [vdso]: the kernel's pages, not the task's", () => {
  /** An exec'ed task (its own mm, validated by hand: env() checks the first one) and its special VMAs. */
  function execEnv(zeroPage: boolean) {
    const e = env({ profile: { zeroPage }, checkMergeable: false });
    e.ok(do_execve(e.m, e.t, {}));
    const mm = e.t.mm!;
    const specials = [...mm.mm_mt].filter((v) => v.special !== null);
    expect(specials.map((v) => v.special)).toEqual(["[vvar]", "[vvar_vclock]", "[vdso]"]);
    const check = () => {
      validate_mm(e.m, mm, { checkMergeable: false });
      validate_machine(e.m);
    };
    return { e, mm, specials, check };
  }

  for (const zeroPage of [true, false]) {
    it(`reads (and mlockall's populate) map the zero page in their stead: no frame, no RSS, no anon_vma (zeroPage ${zeroPage})`, () => {
      const { e, mm, specials, check } = execEnv(zeroPage);
      const used = e.m.frames.nr_used;
      const before = rss(mm);
      for (const v of specials) {
        const r = access_vm(e.m, e.t, v.vm_start, v.vm_end - v.vm_start, "read");
        expect(r.signal).toBeUndefined();
        expect(r.minor).toBe((v.vm_end - v.vm_start) / PG);
        expect(ptes(mm, v.vm_start, 1)).toEqual(["p--y zero"]);
        expect(v.anon_vma).toBeNull();
      }
      expect(e.m.frames.nr_used).toBe(used);
      expect(rss(mm)).toBe(before);
      check();
      // The populate of mlockall(MCL_CURRENT) faults [vdso] in too (the PFN maps it skips).
      e.ok(sys_mlockall(e.m, e.t, MCL_CURRENT));
      for (const v of specials) expect(ptes(mm, v.vm_start, 1)).toEqual(["p--y zero"]);
      expect(specials[2]!.anon_vma).toBeNull();
      check();
    });
  }

  it("a write to [vdso] made writable copies the page into a private anonymous one", () => {
    const { e, mm, specials, check } = execEnv(true);
    const vdso = specials[2]!;
    read(e, vdso.vm_start);
    e.ok(sys_mprotect(e.m, e.t, vdso.vm_start, PG, RW));
    const r = access_vm(e.m, e.t, vdso.vm_start, 1, "write", Uint8Array.of(1));
    expect(r.signal).toBeUndefined();
    expect(frame(e.m, pfnAt(mm, vdso.vm_start))).toBe("anon ref1 map1 excl");
    check();
  });
});

describe("details the conformance suite found on this kernel", () => {
  /*
   * fx: 4 pages. W: 0123 4567 mapped from fx page 3: page 0 is the file's last, 1.. are past EOF.
   * A read of page 1 in a 2 MiB region with no page table yet: SIGBUS, and nothing mapped.
   */
  it("fault-around maps nothing when the window's first cached page is the file's last and there is no PTE table", () => {
    const e = env();
    cachedFile(e, "/fx", 4 * PG);
    fileMap(e, "/fx", 8, PROT_READ, MAP_PRIVATE, 3);
    expect(read(e, W + PG).signal?.code).toBe("BUS_ADRERR");
    expect(rss(e.mm)).toBe("anon 0 file 0 shmem 0 swap 0");
    expect(e.mm.pgd.nr_ptes).toBe(0);
    // From page 2 of the file: its first cached page is not the last one, so both are mapped.
    const e2 = env();
    cachedFile(e2, "/fx", 4 * PG);
    fileMap(e2, "/fx", 8, PROT_READ, MAP_PRIVATE, 2);
    expect(read(e2, W + 3 * PG).signal?.code).toBe("BUS_ADRERR");
    expect(rss(e2.mm)).toBe("anon 0 file 2 shmem 0 swap 0");
    // With a page table already there (another page of the region was touched), the last page is mapped.
    const e3 = env();
    cachedFile(e3, "/fx", 4 * PG);
    anon(e3, 1, RW, W + 100 * PG);
    write(e3, W + 100 * PG, "t");
    fileMap(e3, "/fx", 8, PROT_READ, MAP_PRIVATE, 3);
    expect(read(e3, W + PG).signal?.code).toBe("BUS_ADRERR");
    expect(rss(e3.mm)).toBe("anon 1 file 1 shmem 0 swap 0");
  });

  it("MADV_GUARD_INSTALL gives an anonymous VMA an anon_vma, a file VMA none; gu does not keep anon_vmas apart", () => {
    const e = env();
    // MAP_NORESERVE: no VM_ACCOUNT, so the read-only neighbour below differs only in access bits and gu.
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, ANON | MAP_NORESERVE, -1, 0));
    cachedFile(e, "/f", 4 * PG);
    fileMap(e, "/f", 2, RW, MAP_PRIVATE, 0, W + 8 * PG);
    e.ok(sys_madvise(e.m, e.t, W, PG, MADV_GUARD_INSTALL));
    e.ok(sys_madvise(e.m, e.t, W + 8 * PG, PG, MADV_GUARD_INSTALL));
    expect(e.mm.mm_mt.lookup(W)!.anon_vma).not.toBeNull();
    expect(e.mm.mm_mt.lookup(W + 8 * PG)!.anon_vma).toBeNull();
    // A read-only neighbour without "gu" takes the guarded VMA's anon_vma at its first fault:
    // the flags differ only in access bits and in gu, which anon_vma_compatible() ignores.
    e.ok(sys_mmap(e.m, e.t, W + 2 * PG, PG, PROT_READ, ANON | MAP_NORESERVE, -1, 0));
    read(e, W + 2 * PG);
    expect(e.mm.mm_mt.lookup(W + 2 * PG)!.anon_vma).toBe(e.mm.mm_mt.lookup(W)!.anon_vma);
  });

  it("a private write fault past EOF still gives the VMA an anon_vma (do_cow_fault prepares it first)", () => {
    const e = env();
    cachedFile(e, "/f", PG);
    fileMap(e, "/f", 2, RW, MAP_PRIVATE);
    expect(e.mm.mm_mt.lookup(W)!.anon_vma).toBeNull();
    expect(write(e, W + PG, "x").signal?.code).toBe("BUS_ADRERR");
    expect(e.mm.mm_mt.lookup(W)!.anon_vma).not.toBeNull();
  });

  it("shared anonymous memory grown by mremap faults past its object's size (SIGBUS)", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    e.ok(sys_mremap(e.m, e.t, W, 2 * PG, 4 * PG, 0, 0));
    const r = write(e, W + PG, new Uint8Array(2 * PG).fill(1));
    expect(r.signal).toEqual({ signo: "SIGBUS", code: "BUS_ADRERR", addr: W + 2 * PG });
    expect(r.done).toBe(PG);
  });

  it("zapping a dirty PTE leaves the page-cache page dirty (shared memory read back shows it dirty)", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    // A read maps the shmem page writable (no write notification), so the store takes no fault:
    // only the PTE knows the page was written.
    read(e, W);
    expect(write(e, W, "w").minor).toBe(0);
    const pfn = pfnAt(e.mm, W);
    expect(frame(e.m, pfn)).toBe("file ref2 map1");
    e.ok(sys_madvise(e.m, e.t, W, 2 * PG, MADV_DONTNEED));
    expect(frame(e.m, pfn)).toBe("file ref1 map0 dirty");
  });

  it("fork gives the child a PTE table wherever the parent has one over a copied VMA, entries or not", () => {
    const e = env();
    anon(e, 2);
    write(e, W, "x");
    e.ok(sys_madvise(e.m, e.t, W, 2 * PG, MADV_DONTNEED));
    expect(e.mm.pgd.nr_ptes).toBe(1);
    const c = do_fork(e.m, e.t, 0);
    if (!c.ok) throw new Error("fork");
    expect(c.value.mm!.pgd.nr_ptes).toBe(1);
    expect(c.value.mm!.get_mm_rss()).toBe(0);
  });
});
