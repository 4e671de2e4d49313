/**
 * Physical memory under pressure, on machines of a few MiB: reclaim to the watermarks, swap-out and
 * swap-in through the swap cache with every byte intact, page-cache eviction and writeback,
 * MADV_FREE'd pages dropped, mlocked pages kept, fork children sharing swap entries, the OOM killer
 * and oom_score_adj, MADV_PAGEOUT/MADV_COLD on the real lists, mincore/smaps/pagemap of swapped
 * pages, the replacement policies, and determinism. validate_machine() runs after the steps (it
 * recounts the LRU lists, swap counts, the swap cache, and that MemFree plus everything in use is
 * MemTotal).
 */
import { describe, expect, it } from "vitest";
import {
  MADV_COLD,
  MADV_FREE,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  O_RDONLY,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import type { CoreEvent } from "../../../src/core/events.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_pread, sys_pwrite } from "../../../src/core/fs/read_write.js";
import { Machine } from "../../../src/core/machine.js";
import { LRU_ACTIVE_ANON, LRU_INACTIVE_ANON } from "../../../src/core/mem/lru.js";
import { meminfo_values, vmstat_values } from "../../../src/core/mem/meminfo.js";
import { oom_badness, oom_score, set_oom_score_adj } from "../../../src/core/mem/oom_kill.js";
import { nr_free_pages } from "../../../src/core/mem/page_alloc.js";
import { access_vm } from "../../../src/core/mm/access.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mincore } from "../../../src/core/mm/mincore.js";
import { sys_mlock } from "../../../src/core/mm/mlock.js";
import { sys_mmap, sys_munmap } from "../../../src/core/mm/mmap.js";
import { PM_PRESENT, PM_SWAP, pagemap_read } from "../../../src/core/mm/pagemap.js";
import { show_smaps_rollup } from "../../../src/core/mm/procfs.js";
import { MM_ANONPAGES, MM_SWAPENTS, type mm_struct } from "../../../src/core/mm/types.js";
import { validate_machine } from "../../../src/core/mm/validate.js";
import type { KernelProfile } from "../../../src/core/profile.js";
import { do_fork } from "../../../src/core/task/fork.js";
import { SpawnNoMemoryError, type task_struct } from "../../../src/core/task/task.js";
import { HOST_PROFILE, PG, ptes, W } from "../helpers.js";

const MiB = 2 ** 20;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

/** A machine of `ram` bytes with `swap` bytes of swap, events collected. */
function machine(ram: number, swap: number, profile: Partial<KernelProfile> = {}) {
  const m = new Machine({
    seed: 1,
    profile: { ...HOST_PROFILE, ramBytes: ram, swapBytes: swap, ...profile },
  });
  const events: CoreEvent[] = [];
  m.sink = (e) => events.push(e);
  return { m, events };
}

type Counts = { [k: string]: number };
const vm = (m: Machine): Counts => Object.fromEntries(vmstat_values(m));
const mi = (m: Machine): Counts => Object.fromEntries(meminfo_values(m));

/** 8 bytes naming page i of region `tag`. */
function stamp(tag: number, i: number): Uint8Array {
  return Uint8Array.of(tag, i & 0xff, (i >> 8) & 0xff, 0x5a, tag ^ 0xff, i & 0x7f, 1, 2);
}

function mapAnon(m: Machine, t: task_struct, addr: number, pages: number): void {
  const r = sys_mmap(m, t, addr, pages * PG, RW, ANON, -1, 0);
  if (!r.ok) throw new Error(`mmap: ${r.errno}`);
}

/** Write each page's stamp; validate every `every` pages. Returns the first OOM outcome, if any. */
function fill(m: Machine, t: task_struct, addr: number, pages: number, tag: number, every = 256) {
  for (let i = 0; i < pages; i++) {
    const r = access_vm(m, t, addr + i * PG, 8, "write", stamp(tag, i));
    if (r.oom) return { oom: r.oom, at: i };
    if (r.signal) throw new Error(`signal at page ${i}`);
    if ((i + 1) % every === 0) validate_machine(m);
  }
  validate_machine(m);
  return null;
}

/** Read every page back: the pages whose stamp is wrong, and the major faults taken. */
function check(m: Machine, t: task_struct, addr: number, pages: number, tag: number) {
  const bad: number[] = [];
  let major = 0;
  for (let i = 0; i < pages; i++) {
    const r = access_vm(m, t, addr + i * PG, 8, "read");
    major += r.major;
    const want = stamp(tag, i);
    if (r.oom || r.data.some((b, k) => b !== want[k])) bad.push(i);
  }
  validate_machine(m);
  return { bad, major };
}

const rssOf = (mm: mm_struct) => ({ anon: mm.rss_stat[MM_ANONPAGES]!, swap: mm.rss_stat[MM_SWAPENTS]! });

describe("watermarks of a small machine", () => {
  it("4 MiB: min 64, low 80, high 96 pages; reclaim keeps at least min free and brings it back to high", () => {
    const { m } = machine(4 * MiB, 16 * MiB);
    expect(m.watermarks).toEqual({ min: 64, low: 80, high: 96 });
    const t = m.spawnEmpty();
    mapAnon(m, t, W, 1024);
    let lowest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 1024; i++) {
      access_vm(m, t, W + i * PG, 1, "write", Uint8Array.of(1));
      lowest = Math.min(lowest, nr_free_pages(m));
    }
    validate_machine(m);
    // An allocation that would go below low runs kswapd first, which reclaims to high.
    expect(lowest).toBeGreaterThanOrEqual(80 - 1);
    expect(vm(m).pageoutrun).toBeGreaterThan(0);
    expect(vm(m).allocstall_normal).toBe(0);
  });
});

describe("swap", () => {
  it("a task touching twice RAM swaps; every page comes back with its bytes; then swap is empty", () => {
    const { m } = machine(4 * MiB, 16 * MiB);
    const t = m.spawnEmpty();
    mapAnon(m, t, W, 2048);
    expect(fill(m, t, W, 2048, 1)).toBe(null);
    const mm = t.mm!;
    const r0 = rssOf(mm);
    expect(r0.anon + r0.swap).toBe(2048);
    expect(r0.swap).toBeGreaterThan(1000);
    const v0 = vm(m);
    expect(v0.pswpout).toBeGreaterThanOrEqual(r0.swap);
    // Swap usage is the slots in use: the swapped pages (no page is in the swap cache after writes).
    expect(mi(m).SwapFree).toBe(16 * 1024 - r0.swap * 4);
    const { bad, major } = check(m, t, W, 2048, 1);
    expect(bad).toEqual([]);
    const v1 = vm(m);
    // Every major fault was one page read from swap, and a refault of an evicted page.
    expect(v1.pgmajfault! - v0.pgmajfault!).toBe(major);
    expect(v1.pswpin! + v1.swpin_zero! - v0.pswpin! - v0.swpin_zero!).toBe(major);
    expect(v1.workingset_refault_anon! - v0.workingset_refault_anon!).toBe(major);
    expect(major).toBeGreaterThanOrEqual(r0.swap);
    expect(sys_munmap(m, t, W, 2048 * PG).ok).toBe(true);
    validate_machine(m);
    expect(mi(m).SwapFree).toBe(16 * 1024);
    expect(m.swap.inuse_pages).toBe(0);
    expect(m.frames.nr_used).toBe(0);
  });

  it("a read fault keeps the page in the swap cache: reclaiming it again, clean, writes nothing", () => {
    const { m } = machine(4 * MiB, 16 * MiB);
    const t = m.spawnEmpty();
    mapAnon(m, t, W, 4);
    fill(m, t, W, 4, 2);
    expect(sys_madvise(m, t, W, 4 * PG, MADV_PAGEOUT).ok).toBe(true);
    validate_machine(m);
    expect(ptes(t.mm!, W, 4)).toEqual(["swap", "swap", "swap", "swap"]);
    expect(vm(m).pswpout).toBe(4);
    expect([...unwrap(sys_mincore(m, t, W, 4 * PG))]).toEqual([0, 0, 0, 0]);
    const r = access_vm(m, t, W, 8, "read");
    expect(r.major).toBe(1);
    validate_machine(m);
    // Mapped, and still in the swap cache (SwapCached), its slot kept; mincore says resident.
    expect(mi(m).SwapCached).toBe(4);
    expect(mi(m).SwapFree).toBe(16 * 1024 - 16);
    expect(ptes(t.mm!, W, 1)).toEqual(["pw-y"]);
    expect(sys_madvise(m, t, W, PG, MADV_PAGEOUT).ok).toBe(true);
    validate_machine(m);
    expect(vm(m).pswpout).toBe(4);
    expect(ptes(t.mm!, W, 1)).toEqual(["swap"]);
    // A write fault takes the page for good: its slot is freed, the page is dirty and exclusive.
    const w = access_vm(m, t, W + PG, 8, "write", stamp(2, 1));
    expect(w.major).toBe(1);
    validate_machine(m);
    expect(ptes(t.mm!, W + PG, 1)).toEqual(["pwdy"]);
    expect(mi(m).SwapCached).toBe(0);
    expect(mi(m).SwapFree).toBe(16 * 1024 - 12);
    expect(check(m, t, W, 4, 2).bad).toEqual([]);
  });

  it("fork shares swap entries: both read the old bytes, a write copies; SwapPss splits the slot", () => {
    const { m } = machine(4 * MiB, 16 * MiB);
    const p = m.spawnEmpty();
    mapAnon(m, p, W, 8);
    fill(m, p, W, 8, 3);
    expect(sys_madvise(m, p, W, 8 * PG, MADV_PAGEOUT).ok).toBe(true);
    const c = unwrap(do_fork(m, p, 0));
    validate_machine(m);
    expect(ptes(c.mm!, W, 8)).toEqual(Array(8).fill("swap"));
    for (let s = 1; s <= 8; s++) expect(m.swap.swap_map[s]).toBe(2);
    expect(rollup(m, c.mm!)).toMatchObject({ Swap: 32, SwapPss: 16 });
    // The child reads page 0 from swap (major); the parent then finds it in the swap cache (minor).
    expect(access_vm(m, c, W, 8, "read").major).toBe(1);
    const r = access_vm(m, p, W, 8, "read");
    expect([r.major, r.minor]).toEqual([0, 1]);
    expect([...r.data]).toEqual([...stamp(3, 0)]);
    validate_machine(m);
    // The child writes page 0 (a copy) and page 1 (swapped in, then copied: the parent shares it).
    access_vm(m, c, W, 8, "write", stamp(9, 0));
    access_vm(m, c, W + PG, 8, "write", stamp(9, 1));
    validate_machine(m);
    expect(check(m, p, W, 8, 3).bad).toEqual([]);
    const cr = [0, 1].map((i) => [...access_vm(m, c, W + i * PG, 8, "read").data]);
    expect(cr).toEqual([[...stamp(9, 0)], [...stamp(9, 1)]]);
    expect(
      [2, 3, 4, 5, 6, 7].every(
        (i) => [...access_vm(m, c, W + i * PG, 8, "read").data].join() === [...stamp(3, i)].join(),
      ),
    ).toBe(true);
    validate_machine(m);
  });

  it("shared anonymous memory (shmem) swaps through its object: a fork child reads every byte", () => {
    const { m } = machine(4 * MiB, 16 * MiB, { overcommitMemory: 1 });
    const p = m.spawnEmpty();
    const r = sys_mmap(m, p, W, 1536 * PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    expect(r.ok).toBe(true);
    expect(fill(m, p, W, 1536, 6)).toBe(null);
    const c = unwrap(do_fork(m, p, 0));
    // The pages that left RAM are no longer mapped anywhere; their slots hold them for the object.
    const swapped = 1536 - rssOf(p.mm!).anon - p.mm!.rss_stat[3]!;
    expect(swapped).toBeGreaterThan(500);
    expect(m.swap.inuse_pages).toBe(swapped);
    expect(mi(m).Shmem).toBe((1536 - swapped) * 4);
    expect(check(m, c, W, 1536, 6).bad).toEqual([]);
    // The child's writes are the parent's (one object).
    access_vm(m, c, W + 7 * PG, 8, "write", stamp(1, 7));
    expect([...access_vm(m, p, W + 7 * PG, 8, "read").data]).toEqual([...stamp(1, 7)]);
    validate_machine(m);
    expect(sys_munmap(m, p, W, 1536 * PG).ok).toBe(true);
    expect(sys_munmap(m, c, W, 1536 * PG).ok).toBe(true);
    validate_machine(m);
    // The object is gone with its last mapping: its slots too.
    expect(m.swap.inuse_pages).toBe(0);
    expect(mi(m).Shmem).toBe(0);
  });

  it("zero-filled pages are recorded without I/O (swpout_zero, swpin_zero)", () => {
    const { m } = machine(4 * MiB, 16 * MiB);
    const t = m.spawnEmpty();
    mapAnon(m, t, W, 2);
    access_vm(m, t, W, 8, "write", new Uint8Array(8));
    access_vm(m, t, W + PG, 8, "write", stamp(1, 1));
    expect(sys_madvise(m, t, W, 2 * PG, MADV_PAGEOUT).ok).toBe(true);
    expect([vm(m).pswpout, vm(m).swpout_zero]).toEqual([1, 1]);
    access_vm(m, t, W, 1, "read");
    access_vm(m, t, W + PG, 1, "read");
    expect([vm(m).pswpin, vm(m).swpin_zero]).toEqual([1, 1]);
    validate_machine(m);
  });
});

describe("page cache under pressure", () => {
  it("clean page-cache pages are dropped before anonymous pages are swapped", () => {
    const { m } = machine(4 * MiB, 16 * MiB);
    const t = m.spawnEmpty();
    const f = m.fs.create("/data", 400 * PG);
    for (let i = 0; i < 400; i++) f.disk.set(i, stamp(7, i));
    const fd = unwrap(sys_open(m, t, "/data", O_RDONLY));
    expect(unwrap(sys_pread(m, t, fd, 400 * PG, 0)).length).toBe(400 * PG);
    expect(mi(m).Cached).toBe(1600);
    mapAnon(m, t, W, 700);
    fill(m, t, W, 700, 1);
    // RAM is full: anon 700, cache what is left of 400; nothing swapped yet.
    expect(rssOf(t.mm!).swap).toBe(0);
    expect(vm(m).pgsteal_file).toBeGreaterThan(0);
    expect(vm(m).pgsteal_anon).toBe(0);
    expect(vm(m).pswpout).toBe(0);
    // The dropped pages read back from the file (major faults would be page-cache misses).
    const back = unwrap(sys_pread(m, t, fd, 400 * PG, 0));
    expect(back.subarray(123 * PG, 123 * PG + 8)).toEqual(stamp(7, 123));
    validate_machine(m);
  });

  it("read(2) marks pages accessed: read twice, a page is active and outlives pages read once", () => {
    const { m } = machine(4 * MiB, 0);
    const t = m.spawnEmpty();
    for (const [path, tag] of [
      ["/hot", 1],
      ["/cold", 2],
    ] as const) {
      const f = m.fs.create(path, 200 * PG);
      for (let i = 0; i < 200; i++) f.disk.set(i, stamp(tag, i));
    }
    const hot = unwrap(sys_open(m, t, "/hot", O_RDONLY));
    const cold = unwrap(sys_open(m, t, "/cold", O_RDONLY));
    const lists = () => [mi(m)["Inactive(file)"], mi(m)["Active(file)"]];
    unwrap(sys_pread(m, t, hot, 200 * PG, 0));
    // Read once: referenced, still inactive.
    expect(lists()).toEqual([800, 0]);
    // Page by page, each read continuing where the last ended: the page is not marked again.
    unwrap(sys_pread(m, t, hot, 100, 200 * PG - 200));
    unwrap(sys_pread(m, t, hot, 100, 200 * PG - 100));
    expect(lists()).toEqual([800, 0]);
    const before = vm(m).pgactivate!;
    unwrap(sys_pread(m, t, hot, 200 * PG, 0));
    expect(lists()).toEqual([0, 800]);
    expect(vm(m).pgactivate! - before).toBe(200);
    // A write does not mark (generic_perform_write): a page written twice stays inactive.
    const w = unwrap(sys_open(m, t, "/cold", O_RDWR));
    unwrap(sys_pwrite(m, t, w, stamp(2, 0), 0));
    unwrap(sys_pwrite(m, t, w, stamp(2, 0), 0));
    expect(mi(m)["Inactive(file)"]).toBe(4);
    unwrap(sys_pread(m, t, cold, 200 * PG, 0));
    validate_machine(m);
    // Pressure: the once-read file goes first; the twice-read one stays cached.
    mapAnon(m, t, W, 700);
    fill(m, t, W, 700, 3);
    const cached = (path: string) => m.fs.lookup(path)!.i_pages.size;
    expect(cached("/cold")).toBeLessThan(100);
    expect(cached("/hot")).toBe(200);
    validate_machine(m);
  });

  it("dirty shared file pages are written back before they leave; the next access reads them (major)", () => {
    const { m, events } = machine(4 * MiB, 0);
    const t = m.spawnEmpty();
    m.fs.create("/out", 256 * PG);
    const fd = unwrap(sys_open(m, t, "/out", O_RDWR));
    expect(sys_mmap(m, t, W, 256 * PG, RW, MAP_SHARED | MAP_FIXED, fd, 0).ok).toBe(true);
    fill(m, t, W, 256, 5);
    mapAnon(m, t, W + 1024 * PG, 800);
    fill(m, t, W + 1024 * PG, 800, 6);
    const inode = m.fs.lookup("/out")!;
    const written = events.filter((e) => e.type === "writeback");
    expect(written.length).toBeGreaterThan(0);
    expect(vm(m).nr_vmscan_write).toBe(written.length);
    for (const e of written) {
      if (e.type !== "writeback") continue;
      expect(e.file).toBe("/out");
      expect(inode.i_pages.has(e.index)).toBe(false);
      expect(inode.disk.get(e.index)!.subarray(0, 8)).toEqual(stamp(5, e.index));
    }
    const first = (written[0] as { index: number }).index;
    const r = access_vm(m, t, W + first * PG, 8, "read");
    expect(r.major).toBe(1);
    expect([...r.data]).toEqual([...stamp(5, first)]);
    validate_machine(m);
  });

  it("without swap, MADV_FREE'd clean pages are reclaimed (read back as zeros), rewritten ones stay", () => {
    const { m } = machine(4 * MiB, 0);
    const t = m.spawnEmpty();
    mapAnon(m, t, W, 64);
    fill(m, t, W, 64, 4);
    expect(sys_madvise(m, t, W, 64 * PG, MADV_FREE).ok).toBe(true);
    access_vm(m, t, W + 5 * PG, 8, "write", stamp(8, 5));
    mapAnon(m, t, W + 1024 * PG, 900);
    expect(fill(m, t, W + 1024 * PG, 900, 1)).toBe(null);
    // The rewritten page stays (with its new bytes); the discarded ones are gone from the page
    // tables and read as zeros; the rest are intact.
    const gone = ptes(t.mm!, W, 64).map((p) => p === "none");
    const dropped = gone.filter(Boolean).length;
    expect(dropped).toBeGreaterThan(0);
    expect(vm(m).pglazyfreed).toBe(dropped);
    expect(gone[5]).toBe(false);
    // Room to read them back.
    expect(sys_munmap(m, t, W + 1024 * PG, 900 * PG).ok).toBe(true);
    expect([...access_vm(m, t, W + 5 * PG, 8, "read").data]).toEqual([...stamp(8, 5)]);
    for (let i = 0; i < 64; i++) {
      if (i === 5) continue;
      const want = gone[i] ? new Uint8Array(8) : stamp(4, i);
      expect([...access_vm(m, t, W + i * PG, 8, "read").data]).toEqual([...want]);
    }
    validate_machine(m);
  });
});

describe("mlock under pressure", () => {
  it("mlocked pages are never reclaimed: they stay mapped on the unevictable list", () => {
    const { m } = machine(4 * MiB, 16 * MiB);
    const t = m.spawnEmpty({ caps: { CAP_IPC_LOCK: true } });
    mapAnon(m, t, W, 64);
    fill(m, t, W, 64, 2);
    expect(sys_mlock(m, t, W, 64 * PG).ok).toBe(true);
    mapAnon(m, t, W + 1024 * PG, 2048);
    expect(fill(m, t, W + 1024 * PG, 2048, 3)).toBe(null);
    expect(ptes(t.mm!, W, 64).every((p) => p === "pwdy" || p === "pwd-")).toBe(true);
    expect(mi(m)).toMatchObject({ Mlocked: 256, Unevictable: 256 });
    expect(check(m, t, W, 64, 2).bad).toEqual([]);
  });
});

describe("the OOM killer", () => {
  it("without swap, the task touching more than RAM is killed; the other task and its bytes stay", () => {
    // Overcommit "always": the heuristic would refuse one mapping larger than RAM + swap.
    const { m, events } = machine(4 * MiB, 0, { overcommitMemory: 1 });
    const a = m.spawnEmpty({ comm: "hog" });
    const b = m.spawnEmpty({ comm: "small" });
    mapAnon(m, b, W, 16);
    fill(m, b, W, 16, 9);
    mapAnon(m, a, W, 2048);
    const r = fill(m, a, W, 2048, 1);
    expect(r?.oom).toBe("killed");
    expect(r!.at).toBeGreaterThan(800);
    // Killed, and reaped at once (nobody waits for it).
    expect(a.state).toBe("dead");
    expect(m.tasks.has(a.pid)).toBe(false);
    expect(a.mm).toBe(null);
    expect(b.state).toBe("running");
    expect(check(m, b, W, 16, 9).bad).toEqual([]);
    expect(vm(m).oom_kill).toBe(1);
    const kill = events.find((e) => e.type === "oom_kill");
    expect(kill).toMatchObject({
      type: "oom_kill",
      pid: a.pid,
      comm: "hog",
      killed: [a.pid],
      trigger: a.pid,
    });
    if (kill?.type !== "oom_kill") throw new Error();
    expect(kill.anon_rss).toBe(r!.at * 4);
    // Its memory is free again.
    expect(mi(m).AnonPages).toBe(64);
  });

  it("oom_score_adj -1000 protects a task: the other one is killed, then nothing is left to kill", () => {
    const { m } = machine(4 * MiB, 0, { overcommitMemory: 1 });
    const a = m.spawnEmpty({ comm: "hog" });
    const b = m.spawnEmpty({ comm: "small" });
    expect(set_oom_score_adj(m, a, -1000).ok).toBe(true);
    expect(set_oom_score_adj(m, a, -1001).ok).toBe(false);
    mapAnon(m, b, W, 16);
    fill(m, b, W, 16, 9);
    mapAnon(m, a, W, 2048);
    const r = fill(m, a, W, 2048, 1);
    expect(r?.oom).toBe("no_victim");
    expect(b.state).toBe("dead");
    expect(a.state).toBe("running");
    // What the protected task wrote before memory ran out is intact.
    expect(check(m, a, W, r!.at, 1).bad).toEqual([]);
    expect(vm(m).oom_kill).toBe(1);
    // No room for another task's kernel stack either: the spawn fails (fork's ENOMEM) and charges
    // nothing. Also with no min watermark, once the protected task has taken the last pages.
    const spawnFails = () => {
      const free = mi(m).MemFree;
      const tasks = m.tasks.size;
      expect(() => m.spawnEmpty({ comm: "late" })).toThrow(SpawnNoMemoryError);
      expect([mi(m).MemFree, m.tasks.size]).toEqual([free, tasks]);
      validate_machine(m);
    };
    spawnFails();
    m.profile.minFreeKbytes = 0;
    m.profile_changed();
    const r2 = fill(m, a, W + r!.at * PG, 2048 - r!.at, 2);
    expect(r2?.oom).toBe("no_victim");
    expect(mi(m).MemFree).toBeLessThan(16);
    spawnFails();
  });

  it("badness: RSS + swap entries + page tables, plus oom_score_adj thousandths of RAM+swap", () => {
    const { m } = machine(64 * MiB, 64 * MiB);
    const a = m.spawnEmpty();
    const b = m.spawnEmpty();
    mapAnon(m, a, W, 100);
    fill(m, a, W, 100, 1);
    const tables = a.mm!.pgd.pgtables_bytes / PG;
    expect(oom_badness(m, a, 32768)).toBe(100 + tables);
    // 32768 pages of RAM + swap: each unit of adj is 32 pages.
    set_oom_score_adj(m, a, 10);
    expect(oom_badness(m, a, 32768)).toBe(100 + tables + 320);
    expect(oom_score(m, a)).toBe(
      Math.trunc(((1000 + Math.trunc(((100 + tables + 320) * 1000) / 32768)) * 2) / 3),
    );
    expect(oom_badness(m, b, 32768)).toBe(0);
    const c = unwrap(do_fork(m, a, 0));
    expect(c.oom_score_adj).toBe(10);
  });
});

describe("MADV_PAGEOUT and MADV_COLD act on the lists", () => {
  it("without swap, PAGEOUT activates anonymous pages (no slot for them); COLD deactivates them again", () => {
    const { m } = machine(64 * MiB, 0);
    const t = m.spawnEmpty();
    mapAnon(m, t, W, 4);
    fill(m, t, W, 4, 1);
    const lru = m.frames.lruvec;
    expect(sys_madvise(m, t, W, 4 * PG, MADV_PAGEOUT).ok).toBe(true);
    expect([lru.nr_pages[LRU_INACTIVE_ANON], lru.nr_pages[LRU_ACTIVE_ANON]]).toEqual([0, 4]);
    expect(sys_madvise(m, t, W, 2 * PG, MADV_COLD).ok).toBe(true);
    expect([lru.nr_pages[LRU_INACTIVE_ANON], lru.nr_pages[LRU_ACTIVE_ANON]]).toEqual([2, 2]);
    expect(vm(m)).toMatchObject({ pgactivate: 4, pgdeactivate: 2 });
    validate_machine(m);
  });

  it("pagemap shows a swapped page's slot; smaps and status count it", () => {
    const { m } = machine(64 * MiB, 64 * MiB);
    const t = m.spawnEmpty();
    mapAnon(m, t, W, 2);
    fill(m, t, W, 2, 1);
    expect(sys_madvise(m, t, W, PG, MADV_PAGEOUT).ok).toBe(true);
    const [e0, e1] = pagemap_read(m, t.mm!, W, W + 2 * PG);
    expect(e0! & PM_SWAP).toBe(PM_SWAP);
    expect((e0! >> 5n) & ((1n << 50n) - 1n)).toBe(1n);
    expect(e1! & PM_PRESENT).toBe(PM_PRESENT);
    expect(rollup(m, t.mm!)).toMatchObject({ Swap: 4, SwapPss: 4, Rss: 4 });
  });
});

describe("replacement policies", () => {
  /**
   * A hot page touched after every page of a stream twice RAM, three rounds: the hot page's major
   * faults in the last two (after the first reclaim, which finds every page referenced at once and
   * can take the hot page with them), and the machine's.
   */
  function hot(policy: KernelProfile["replacementPolicy"]) {
    const { m } = machine(4 * MiB, 16 * MiB, { replacementPolicy: policy });
    const t = m.spawnEmpty();
    mapAnon(m, t, W, 2049);
    const H = W + 2048 * PG;
    access_vm(m, t, H, 1, "write", Uint8Array.of(1));
    let hotMajor = 0;
    let pgmajfault = 0;
    for (let round = 0; round < 3; round++) {
      if (round === 1) pgmajfault = vm(m).pgmajfault!;
      for (let i = 0; i < 2048; i++) {
        access_vm(m, t, W + i * PG, 1, "write", Uint8Array.of(i | 1));
        const major = access_vm(m, t, H, 1, "read").major;
        if (round > 0) hotMajor += major;
      }
    }
    validate_machine(m);
    return { hotMajor, pgmajfault: vm(m).pgmajfault! - pgmajfault };
  }

  it("fifo evicts the hot page once per pass over RAM; lru, clock and linux keep it", () => {
    const fifo = hot("fifo");
    const lru = hot("lru");
    const clock = hot("clock");
    const linux = hot("linux");
    // About 930 pages fit: two rounds of 2048 are four passes over RAM.
    expect(fifo.hotMajor).toBe(4);
    expect([lru.hotMajor, clock.hotMajor, linux.hotMajor]).toEqual([0, 0, 0]);
    // The stream faults alike under every policy; fifo pays for the hot page on top.
    expect(fifo.pgmajfault).toBe(lru.pgmajfault + 4);
    expect([clock.pgmajfault, linux.pgmajfault]).toEqual([lru.pgmajfault, lru.pgmajfault]);
  });
});

describe("determinism", () => {
  it("the same calls on the same seed give the same vmstat, meminfo and events", () => {
    const run = () => {
      const { m, events } = machine(4 * MiB, 4 * MiB);
      const a = m.spawnEmpty();
      const b = m.spawnEmpty();
      mapAnon(m, a, W, 1200);
      mapAnon(m, b, W, 1200);
      fill(m, a, W, 1200, 1, 100000);
      fill(m, b, W, 1200, 2, 100000);
      return JSON.stringify([vmstat_values(m), meminfo_values(m), events.length]);
    };
    expect(run()).toBe(run());
  });
});

function unwrap<T>(r: { ok: true; value: T } | { ok: false; errno: number }): T {
  if (!r.ok) throw new Error(`errno ${r.errno}`);
  return r.value;
}

/** smaps_rollup as {Field: kB}. */
function rollup(m: Machine, mm: mm_struct): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of show_smaps_rollup(m, mm).split("\n")) {
    const r = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (r) out[r[1]!] = Number(r[2]);
  }
  return out;
}
