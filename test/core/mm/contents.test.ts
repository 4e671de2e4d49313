/**
 * Memory contents: where written bytes live and when they are lost, as Linux loses them.
 * MADV_DONTNEED drops private anonymous bytes (zero-fill next time) but not those of shared
 * memory or of a file's page cache; MADV_FREE keeps bytes until reclaim takes a clean page
 * (MADV_PAGEOUT here, the system has no swap); WIPEONFORK children start from zeros; munmap and
 * exit free everything; pread/pwrite and shared mappings see one page cache. Expectations were
 * checked on this machine's kernel with small C programs (fr.c: FREE "aaa", PAGEOUT "0 b 0",
 * shared anon after DONTNEED "s", private anon after DONTNEED 0).
 */
import { describe, expect, it } from "vitest";
import {
  MADV_DONTNEED,
  MADV_FREE,
  MADV_PAGEOUT,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MS_SYNC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import { sys_ftruncate, sys_open } from "../../../src/core/fs/open.js";
import { sys_pread, sys_pwrite } from "../../../src/core/fs/read_write.js";
import { access_vm } from "../../../src/core/mm/access.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mmap, sys_munmap } from "../../../src/core/mm/mmap.js";
import { sys_mremap } from "../../../src/core/mm/mremap.js";
import { sys_msync } from "../../../src/core/mm/msync.js";
import { do_exit, do_wait4 } from "../../../src/core/task/exit.js";
import { do_fork } from "../../../src/core/task/fork.js";
import type { task_struct } from "../../../src/core/task/task.js";
import {
  bytes,
  cachedFile,
  type Env,
  env,
  frame,
  load,
  PG,
  pfnAt,
  ptes,
  rss,
  store,
  text,
  W,
} from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const SHANON = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;

function put(e: Env, t: task_struct, addr: number, s: string): void {
  store(e.m, t, addr, s);
  e.check();
}

function get(e: Env, t: task_struct, addr: number, n: number): string {
  const s = load(e.m, t, addr, n);
  e.check();
  return s;
}

describe("MADV_DONTNEED", () => {
  /*
   * W: 01
   *    PP  private anonymous, written
   * DONTNEED page 0: the page is freed, the next access faults in a zeroed page
   */
  it("private anonymous: the bytes are gone, the next touch is a new demand-zero fault", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, ANON, -1, 0));
    put(e, e.t, W, "first");
    put(e, e.t, W + PG, "second");
    const used = e.m.frames.nr_used;
    e.ok(sys_madvise(e.m, e.t, W, PG, MADV_DONTNEED));
    expect(ptes(e.mm, W, 2)).toEqual(["none", "pwdy"]);
    expect(e.m.frames.nr_used).toBe(used - 1);
    expect(rss(e.mm)).toBe("anon 1 file 0 shmem 0 swap 0");
    const r = access_vm(e.m, e.t, W, 5, "read");
    expect(r.minor).toBe(1);
    expect(text(r.data)).toBe("\0\0\0\0\0");
    expect(get(e, e.t, W + PG, 6)).toBe("second");
  });

  it("private file mapping: a private copy goes, the file's page comes back", () => {
    const e = env();
    cachedFile(e, "/f", 2 * PG);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDWR));
    e.ok(sys_pwrite(e.m, e.t, fd, bytes("on disk"), 0));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, MAP_PRIVATE | MAP_FIXED, fd, 0));
    put(e, e.t, W, "private");
    expect(get(e, e.t, W, 7)).toBe("private");
    e.ok(sys_madvise(e.m, e.t, W, 2 * PG, MADV_DONTNEED));
    expect(rss(e.mm)).toBe("anon 0 file 0 shmem 0 swap 0");
    expect(get(e, e.t, W, 7)).toBe("on disk");
  });

  it("shared anonymous memory and shared files keep their bytes (only the mapping goes)", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, SHANON, -1, 0));
    put(e, e.t, W + PG, "shmem");
    expect(rss(e.mm)).toBe("anon 0 file 0 shmem 1 swap 0");
    e.ok(sys_madvise(e.m, e.t, W, 2 * PG, MADV_DONTNEED));
    expect(rss(e.mm)).toBe("anon 0 file 0 shmem 0 swap 0");
    expect(get(e, e.t, W + PG, 5)).toBe("shmem");
    cachedFile(e, "/f", PG);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDWR));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, PG, RW, MAP_SHARED | MAP_FIXED, fd, 0));
    put(e, e.t, W + 4 * PG, "file");
    e.ok(sys_madvise(e.m, e.t, W + 4 * PG, PG, MADV_DONTNEED));
    expect(get(e, e.t, W + 4 * PG, 4)).toBe("file");
  });
});

describe("MADV_FREE", () => {
  /*
   * W: 012
   *    PPP  "aaa", MADV_FREE: lazily free, bytes intact
   * write page 1 ("b"): dirty again
   * MADV_PAGEOUT: clean lazy-free pages are discarded (no swap needed), the dirty one stays
   *    -P-  reads "0 b 0"
   */
  it("bytes survive until reclaim; reclaim drops clean lazy-free pages, not rewritten ones", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 3 * PG, RW, ANON, -1, 0));
    for (let i = 0; i < 3; i++) put(e, e.t, W + i * PG, "a");
    e.ok(sys_madvise(e.m, e.t, W, 3 * PG, MADV_FREE));
    // Old and clean, still writable: the next store marks it dirty without a fault.
    expect(ptes(e.mm, W, 3)).toEqual(["pw--", "pw--", "pw--"]);
    expect(frame(e.m, pfnAt(e.mm, W))).toBe("anon ref1 map1 excl lazyfree");
    expect([0, 1, 2].map((i) => get(e, e.t, W + i * PG, 1)).join("")).toBe("aaa");
    put(e, e.t, W + PG, "b");
    e.ok(sys_madvise(e.m, e.t, W, 3 * PG, MADV_PAGEOUT));
    // The survivor's accessed bit was cleared by the reclaim scan.
    expect(ptes(e.mm, W, 3)).toEqual(["none", "pwd-", "none"]);
    expect(rss(e.mm)).toBe("anon 1 file 0 shmem 0 swap 0");
    expect([0, 1, 2].map((i) => get(e, e.t, W + i * PG, 1)).join(" ")).toBe(". b .");
  });
});

describe("fork, WIPEONFORK, munmap, mremap, exit", () => {
  it("WIPEONFORK: the child's VMA is there but empty (zero-filled), the parent's bytes stay", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, PG, RW, ANON, -1, 0));
    put(e, e.t, W, "keep");
    e.ok(sys_madvise(e.m, e.t, W, PG, MADV_WIPEONFORK));
    const c = do_fork(e.m, e.t, 0);
    if (!c.ok) throw new Error("fork");
    expect(c.value.mm!.get_mm_rss()).toBe(0);
    expect(get(e, c.value, W, 4)).toBe("....");
    expect(get(e, e.t, W, 4)).toBe("keep");
  });

  it("munmap frees the pages; a new mapping at the same place reads zeros", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, ANON, -1, 0));
    const before = e.m.frames.nr_used;
    for (let i = 0; i < 4; i++) put(e, e.t, W + i * PG, "gone");
    expect(e.m.frames.nr_used).toBe(before + 4);
    e.ok(sys_munmap(e.m, e.t, W, 4 * PG));
    expect(e.m.frames.nr_used).toBe(before);
    expect(e.m.frames.contents.used).toBe(0);
    expect(e.mm.pgd.nr_ptes).toBe(0);
    e.ok(sys_mmap(e.m, e.t, W, 4 * PG, RW, ANON, -1, 0));
    expect(get(e, e.t, W + 2 * PG, 4)).toBe("....");
  });

  it("mremap moves the pages themselves; MREMAP_DONTUNMAP leaves the source empty", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, ANON, -1, 0));
    put(e, e.t, W + PG, "moving");
    const pfn = pfnAt(e.mm, W + PG);
    e.ok(sys_mremap(e.m, e.t, W, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, W + 8 * PG));
    expect(pfnAt(e.mm, W + 9 * PG)).toBe(pfn);
    expect(get(e, e.t, W + 9 * PG, 6)).toBe("moving");
    e.ok(
      sys_mremap(e.m, e.t, W + 8 * PG, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, W),
    );
    expect(get(e, e.t, W + PG, 6)).toBe("moving");
    expect(get(e, e.t, W + 9 * PG, 6)).toBe("......");
  });

  it("exit frees every page the task alone held; pages shared with a child stay for the child", () => {
    const e = env();
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, ANON, -1, 0));
    put(e, e.t, W, "p0");
    put(e, e.t, W + PG, "p1");
    const c = do_fork(e.m, e.t, 0);
    if (!c.ok) throw new Error("fork");
    const child = c.value;
    put(e, child, W, "c0"); // the child's own copy of page 0
    const before = e.m.frames.nr_used;
    do_exit(e.m, child, 0);
    e.check();
    // The child's copy is freed; page 1 was shared and stays with the parent.
    expect(e.m.frames.nr_used).toBe(before - 1);
    expect(frame(e.m, pfnAt(e.mm, W + PG))).toBe("anon ref1 map1");
    expect(do_wait4(e.m, e.t, child.pid).ok).toBe(true);
    expect(get(e, e.t, W, 2) + get(e, e.t, W + PG, 2)).toBe("p0p1");
  });
});

describe("files: one page cache for mappings and read/write", () => {
  it("pwrite is seen by shared mappings and by private ones that have not copied the page", () => {
    const e = env();
    cachedFile(e, "/f", 2 * PG);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDWR));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, MAP_SHARED | MAP_FIXED, fd, 0));
    e.ok(sys_mmap(e.m, e.t, W + 4 * PG, 2 * PG, RW, MAP_PRIVATE | MAP_FIXED, fd, 0));
    expect(get(e, e.t, W, 3) + get(e, e.t, W + 4 * PG, 3)).toBe("......");
    put(e, e.t, W + 4 * PG + PG, "cow"); // the private mapping copies page 1
    expect(e.ok(sys_pwrite(e.m, e.t, fd, new Uint8Array(2 * PG).fill(0x2a), 0))).toBe(2 * PG);
    expect(get(e, e.t, W, 3)).toBe("***");
    expect(get(e, e.t, W + 4 * PG, 3)).toBe("***");
    expect(get(e, e.t, W + 5 * PG, 3)).toBe("cow");
    // The page-cache pages are dirty now: smaps would show them as dirty in every mapping.
    expect(frame(e.m, pfnAt(e.mm, W))).toBe("file ref3 map2 dirty");
  });

  it("written back bytes survive the page leaving the cache; truncation drops them", () => {
    const e = env();
    cachedFile(e, "/f", 2 * PG);
    const fd = e.ok(sys_open(e.m, e.t, "/f", O_RDWR));
    e.ok(sys_mmap(e.m, e.t, W, 2 * PG, RW, MAP_SHARED | MAP_FIXED, fd, 0));
    put(e, e.t, W + PG + 10, "durable");
    e.ok(sys_msync(e.m, e.t, W, 2 * PG, MS_SYNC));
    expect(ptes(e.mm, W + PG, 1)).toEqual(["p--y"]);
    // Clean now: MADV_PAGEOUT takes it out of the page cache; the next access reads it back in.
    e.ok(sys_madvise(e.m, e.t, W, 2 * PG, MADV_PAGEOUT));
    expect(e.m.fs.lookup("/f")!.i_pages.has(1)).toBe(false);
    const r = access_vm(e.m, e.t, W + PG + 10, 7, "read");
    e.check();
    expect(r.major).toBe(1);
    expect(text(r.data)).toBe("durable");
    // Shrinking the file to 4108 bytes keeps two bytes of "durable" and zeroes the rest of the page.
    e.ok(sys_ftruncate(e.m, e.t, fd, PG + 12));
    const p = sys_pread(e.m, e.t, fd, 100, PG + 10);
    expect(p.ok && text(p.value)).toBe("du");
    e.ok(sys_ftruncate(e.m, e.t, fd, 2 * PG));
    expect(get(e, e.t, W + PG + 10, 7)).toBe("du.....");
  });
});
