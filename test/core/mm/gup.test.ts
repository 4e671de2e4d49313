/**
 * Faults the kernel takes on a task's behalf (get_user_pages: MAP_POPULATE, MAP_LOCKED, mlock,
 * MADV_POPULATE_*, growing a locked mapping with mremap) count in the task's min_flt/maj_flt as
 * user faults do, one per fault taken: a read fault on a file maps a fault-around window, so the
 * pages it mapped cost no further fault. Figures printed on this machine's kernel (gupf.c):
 *   MAP_POPULATE ro private file 64p: 5 (unaligned start)   rw private file 64p: 64
 *   rw shared file 64p: 5     ro shared file 64p: 5        MADV_POPULATE_READ ro file 64p: 5
 *   mlock anon 16p: 16        mremap locked 16->32p: 16     MAP_POPULATE ro anon 16p: 16
 *   MADV_POPULATE_READ rw anon 16p: 16, then MADV_POPULATE_WRITE: 16 (zero page, then COW)
 */
import { describe, expect, it } from "vitest";
import {
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_MAYMOVE,
  O_RDONLY,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mlock } from "../../../src/core/mm/mlock.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { sys_mremap } from "../../../src/core/mm/mremap.js";
import { cachedFile, type Env, env, PG, ptes, rss, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

/** min_flt taken by `f`. */
function faults(e: Env, f: () => void): number {
  const before = e.t.min_flt + e.t.maj_flt;
  f();
  e.check();
  return e.t.min_flt + e.t.maj_flt - before;
}

describe("populate counts faults like user accesses", () => {
  it("MAP_POPULATE of private writable anonymous memory: one write fault per page", () => {
    const e = env();
    expect(faults(e, () => e.ok(sys_mmap(e.m, e.t, W, 100 * PG, RW, ANON | MAP_POPULATE, -1, 0)))).toBe(100);
    expect(rss(e.mm)).toBe("anon 100 file 0 shmem 0 swap 0");
    expect(ptes(e.mm, W, 1)).toEqual(["pwdy"]);
  });

  it("MAP_POPULATE of a file: read faults map fault-around windows; private writable ones break COW per page", () => {
    const e = env();
    cachedFile(e, "/f", 64 * PG);
    const ro = e.ok(sys_open(e.m, e.t, "/f", O_RDONLY));
    const rw = e.ok(sys_open(e.m, e.t, "/f", O_RDWR));
    // Aligned to 64 KiB: 4 windows of 16 pages; 3 pages off: 5 faults, as the kernel printed.
    expect(
      faults(e, () =>
        e.ok(sys_mmap(e.m, e.t, W, 64 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, ro, 0)),
      ),
    ).toBe(4);
    expect(
      faults(e, () =>
        e.ok(
          sys_mmap(e.m, e.t, W + 67 * PG, 64 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, ro, 0),
        ),
      ),
    ).toBe(5);
    expect(
      faults(e, () =>
        e.ok(sys_mmap(e.m, e.t, W + 256 * PG, 64 * PG, RW, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, ro, 0)),
      ),
    ).toBe(64);
    // A shared writable mapping is populated with read faults (no COW to break): 16-page windows.
    expect(
      faults(e, () =>
        e.ok(sys_mmap(e.m, e.t, W + 512 * PG, 64 * PG, RW, MAP_SHARED | MAP_FIXED | MAP_POPULATE, rw, 0)),
      ),
    ).toBe(4);
    expect(ptes(e.mm, W + 512 * PG, 1)).toEqual(["p--y"]);
    expect(rss(e.mm)).toBe("anon 64 file 192 shmem 0 swap 0");
  });

  it("MAP_LOCKED and mlock fault every page in", () => {
    const e = env({ spawn: { caps: { CAP_IPC_LOCK: true } } });
    expect(faults(e, () => e.ok(sys_mmap(e.m, e.t, W, 16 * PG, RW, ANON | MAP_LOCKED, -1, 0)))).toBe(16);
    e.ok(sys_mmap(e.m, e.t, W + 32 * PG, 16 * PG, RW, ANON, -1, 0));
    expect(faults(e, () => e.ok(sys_mlock(e.m, e.t, W + 32 * PG, 16 * PG)))).toBe(16);
    expect(e.mm.locked_vm).toBe(32);
  });

  it("mremap growing a locked mapping populates (and counts) the new part", () => {
    const e = env({ spawn: { caps: { CAP_IPC_LOCK: true } } });
    e.ok(sys_mmap(e.m, e.t, W, 16 * PG, RW, ANON | MAP_LOCKED, -1, 0));
    // Something right after it, so that the mapping has to move.
    e.ok(sys_mmap(e.m, e.t, W + 16 * PG, PG, PROT_READ, ANON, -1, 0));
    let to = 0;
    expect(
      faults(e, () => {
        to = e.ok(sys_mremap(e.m, e.t, W, 16 * PG, 32 * PG, MREMAP_MAYMOVE, 0));
      }),
    ).toBe(16);
    expect(to).not.toBe(W);
    expect(ptes(e.mm, to, 32).every((p) => p === "pwdy")).toBe(true);
  });

  it("MADV_POPULATE_READ maps the zero page (stock kernel); MADV_POPULATE_WRITE then breaks COW", () => {
    const e = env({ profile: { zeroPage: true } });
    e.ok(sys_mmap(e.m, e.t, W, 16 * PG, RW, ANON, -1, 0));
    expect(faults(e, () => e.ok(sys_madvise(e.m, e.t, W, 16 * PG, MADV_POPULATE_READ)))).toBe(16);
    expect(ptes(e.mm, W, 1)).toEqual(["p--y zero"]);
    expect(rss(e.mm)).toBe("anon 0 file 0 shmem 0 swap 0");
    expect(faults(e, () => e.ok(sys_madvise(e.m, e.t, W, 16 * PG, MADV_POPULATE_WRITE)))).toBe(16);
    expect(rss(e.mm)).toBe("anon 16 file 0 shmem 0 swap 0");
    // Populating what is already there takes no fault.
    expect(faults(e, () => e.ok(sys_madvise(e.m, e.t, W, 16 * PG, MADV_POPULATE_WRITE)))).toBe(0);
  });
});
