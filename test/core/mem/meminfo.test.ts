/**
 * /proc/meminfo and /proc/vmstat computed from the machine's state: page kinds after anonymous,
 * file, shared and locked mappings, the watermark arithmetic of MemAvailable, the /proc layout.
 */
import { describe, expect, it } from "vitest";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { Machine } from "../../../src/core/machine.js";
import {
  mem_state,
  meminfo_values,
  show_meminfo,
  show_vmstat,
  vmstat_values,
  zone_watermarks,
} from "../../../src/core/mem/meminfo.js";
import { default_min_free_kbytes } from "../../../src/core/mem/page_alloc.js";
import { access_vm } from "../../../src/core/mm/access.js";
import { sys_mlock } from "../../../src/core/mm/mlock.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { PM_FILE, PM_MMAP_EXCLUSIVE, PM_PRESENT, pagemap_read } from "../../../src/core/mm/pagemap.js";
import { do_execve } from "../../../src/core/task/exec.js";
import { do_fork } from "../../../src/core/task/fork.js";
import { PG, W } from "../helpers.js";

const kb = (m: Machine): Record<string, number> => Object.fromEntries(meminfo_values(m));

describe("meminfo", () => {
  it("an idle machine: RAM, swap, commit limit, one kernel stack", () => {
    const m = new Machine({ profile: { ramBytes: 2 ** 30, swapBytes: 2 ** 29 } });
    m.spawnEmpty();
    const v = kb(m);
    expect(v.MemTotal).toBe(1048576);
    expect(v.KernelStack).toBe(16);
    expect(v.MemFree).toBe(1048576 - 16);
    expect(v.SwapTotal).toBe(524288);
    expect(v.SwapFree).toBe(524288);
    expect(v.CommitLimit).toBe(524288 + 524288);
    expect(v.Committed_AS).toBe(0);
    // No page cache: MemAvailable is MemFree less the high watermark.
    expect(v.MemAvailable).toBe((mem_state(m).free - zone_watermarks(262144, null, 10, true).high) * 4);
  });

  it("anonymous, file, shared and locked pages land in their counters", () => {
    const m = new Machine({ profile: { ramBytes: 2 ** 30, zeroPage: false } });
    const t = m.spawnEmpty();
    const base = kb(m);
    expect(
      sys_mmap(
        m,
        t,
        W,
        8 * PG,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
        -1,
        0,
      ).ok,
    ).toBe(true);
    let v = kb(m);
    expect(v.AnonPages).toBe(32);
    expect(v["Inactive(anon)"]).toBe(32);
    expect(v.Committed_AS).toBe(32);
    expect(base.MemFree! - v.MemFree!).toBe(32 + v.PageTables! - base.PageTables!);

    const f = m.fs.create("/data", 4 * PG);
    f.disk.set(0, new Uint8Array(PG).fill(1));
    const fd = sys_open(m, t, "/data", O_RDWR);
    expect(fd.ok).toBe(true);
    const a = sys_mmap(
      m,
      t,
      W + 16 * PG,
      4 * PG,
      PROT_READ | PROT_WRITE,
      MAP_SHARED | MAP_FIXED,
      fd.ok ? fd.value : -1,
      0,
    );
    expect(a.ok).toBe(true);
    access_vm(m, t, W + 16 * PG, 1, "write", Uint8Array.of(2));
    v = kb(m);
    // Read-around brings the whole (4-page) file into the cache; one page is mapped and dirty.
    expect(v.Cached).toBe(16);
    expect(v["Inactive(file)"]).toBe(16);
    expect(v.Mapped).toBe(4);
    expect(v.Dirty).toBe(4);
    expect(v.Shmem).toBe(0);

    const sh = sys_mmap(
      m,
      t,
      0,
      2 * PG,
      PROT_READ | PROT_WRITE,
      MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE,
      -1,
      0,
    );
    expect(sh.ok).toBe(true);
    v = kb(m);
    expect(v.Shmem).toBe(8);
    expect(v.Cached).toBe(24);
    expect(v["Inactive(anon)"]).toBe(40);
    expect(v.Dirty).toBe(4);

    expect(sys_mlock(m, t, W, 2 * PG).ok).toBe(true);
    v = kb(m);
    expect(v.Mlocked).toBe(8);
    expect(v.Unevictable).toBe(8);
    expect(v["Inactive(anon)"]).toBe(32);

    // A fork shares the anonymous pages: AnonPages counts pages, not mappings.
    const child = do_fork(m, t, 0);
    expect(child.ok).toBe(true);
    v = kb(m);
    expect(v.AnonPages).toBe(32);
    expect(v.KernelStack).toBe(32);
    // The child's mapping is not locked (locks are not inherited), but the parent's still is.
    expect(v.Mlocked).toBe(8);
  });

  it("vmstat pgfault/pgmajfault: every task's faults, counted by the core (exec and populate included)", () => {
    const m = new Machine({ profile: { ramBytes: 2 ** 30, zeroPage: false } });
    const t = m.spawnEmpty();
    expect(do_execve(m, t).ok).toBe(true);
    const vm = () => Object.fromEntries(vmstat_values(m));
    const flt = () => {
      let min = 0;
      let maj = 0;
      for (const x of m.tasks.values()) {
        min += x.min_flt;
        maj += x.maj_flt;
      }
      return { pgfault: min + maj, pgmajfault: maj };
    };
    expect(vm()).toMatchObject(flt());
    expect(flt().pgmajfault).toBeGreaterThan(0);
    const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE;
    expect(sys_mmap(m, t, W, 4 * PG, PROT_READ | PROT_WRITE, flags, -1, 0).ok).toBe(true);
    const c = do_fork(m, t, 0);
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    // A copy-on-write fault in the child, and a first touch in the parent.
    access_vm(m, c.value, W, 1, "write", Uint8Array.of(7));
    expect(sys_mmap(m, t, W + 8 * PG, PG, PROT_READ | PROT_WRITE, flags & ~MAP_POPULATE, -1, 0).ok).toBe(
      true,
    );
    access_vm(m, t, W + 8 * PG, 1, "read");
    const before = vm().pgfault!;
    expect(vm()).toMatchObject(flt());
    // A spurious access (the page is there) is no fault.
    access_vm(m, t, W + 8 * PG, 1, "read");
    expect(vm().pgfault).toBe(before);
  });

  it("prints the /proc layout", () => {
    const m = new Machine({ profile: { ramBytes: 2 ** 30, memoryFailure: false } });
    const text = show_meminfo(m);
    const lines = text.split("\n");
    expect(lines[0]).toBe("MemTotal:        1048576 kB");
    expect(lines).toContain("HugePages_Total:       0");
    expect(lines).toContain("Hugepagesize:       2048 kB");
    expect(lines).toContain("VmallocTotal:   34359738367 kB");
    expect(text).not.toContain("HardwareCorrupted");
    expect(show_meminfo(new Machine())).toContain("\nHardwareCorrupted:     0 kB\n");
    for (const l of lines.slice(0, -1)) expect(l).toMatch(/^[A-Za-z_()0-9]+: +[0-9]+( kB)?$/);
    m.vm_events.pgfault = 5;
    m.vm_events.pgmajfault = 2;
    expect(show_vmstat(m)).toMatch(/^nr_free_pages 262144\n(.|\n)*\npgfault 5\npgmajfault 2\n/);
  });

  it("watermarks: min_free_kbytes = sqrt(16 * lowmem kB), clamped", () => {
    // 4 GiB: sqrt(4194304 * 16) = 8192 kB -> 2048 pages; tmp = max(512, 1048) = 1048.
    expect(zone_watermarks(1048576)).toEqual({ min: 2048, low: 3096, high: 4144 });
    // Tiny machines are clamped to 128 kB.
    expect(zone_watermarks(64).min).toBe(32);
  });

  it("with THP enabled, khugepaged raises it: 11 pageblocks per zone, at most 5% of RAM", () => {
    const kb = (ram: number, thp = true) => default_min_free_kbytes(ram / 4096, thp);
    // 8 GiB, three zones: 512 x 3 x 11 pages = 67584 kB, what this 6.18 host shows [obs].
    expect(kb(8 * 2 ** 30)).toBe(67584);
    expect(kb(8 * 2 ** 30, false)).toBe(11585);
    // 1 GiB, two zones: 11264 pages.
    expect(kb(2 ** 30)).toBe(45056);
    // 64 MiB: 5% of RAM (819 pages) is less than 11264 pages but more than the sqrt rule's 1024 kB.
    expect(kb(64 * 2 ** 20)).toBe(3276);
    // 4 MiB: 5% is 51 pages, below the sqrt rule's 256 kB.
    expect(kb(4 * 2 ** 20)).toBe(256);
    // A machine's watermarks follow its profile.
    expect(new Machine({ profile: { ramBytes: 8 * 2 ** 30 } }).watermarks.min).toBe(16896);
    expect(new Machine({ profile: { ramBytes: 8 * 2 ** 30, thpEnabled: false } }).watermarks.min).toBe(2896);
  });
});

describe("pagemap", () => {
  it("present, exclusive, file and shared entries", () => {
    const m = new Machine({ profile: { zeroPage: false, softDirty: false } });
    const t = m.spawnEmpty();
    sys_mmap(m, t, W, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    access_vm(m, t, W, 1, "write", Uint8Array.of(1));
    let [first, second] = pagemap_read(m, t.mm!, W, W + 2 * PG);
    expect(first! & PM_PRESENT).toBe(PM_PRESENT);
    expect(first! & PM_MMAP_EXCLUSIVE).toBe(PM_MMAP_EXCLUSIVE);
    expect(first! & PM_FILE).toBe(0n);
    expect(second).toBe(0n);
    do_fork(m, t, 0);
    [first] = pagemap_read(m, t.mm!, W, W + PG);
    expect(first! & PM_MMAP_EXCLUSIVE).toBe(0n);
    const f = m.fs.create("/f", PG);
    const fd = sys_open(m, t, "/f", O_RDWR);
    sys_mmap(m, t, W + 4 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd.ok ? fd.value : -1, 0);
    access_vm(m, t, W + 4 * PG, 1, "read");
    const [file] = pagemap_read(m, t.mm!, W + 4 * PG, W + 5 * PG);
    expect(file! & (PM_PRESENT | PM_FILE)).toBe(PM_PRESENT | PM_FILE);
    expect(Number(file! & ((1n << 55n) - 1n))).toBe(f.i_pages.get(0));
  });
});
