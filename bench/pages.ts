/**
 * `npm run bench:engine` (second part): the engine's cost of page-level work against the host
 * kernel's doing the same in the same run:
 *
 *   touch    first-touch fault per page: one store of a non-zero byte to each page of a fresh
 *            anonymous private rw mapping (16 384 pages)
 *   cow      copy-on-write fault per page: the same stores after a fork, in the parent, while
 *            the child still maps every page (16 384 pages)
 *   cowfull  the same with every byte of every page written before the fork: each fault copies
 *            a full 4 KiB on both sides (the engine copies only the bytes a page ever had written,
 *            so `cow` shows its cost for sparse pages, this row for dense ones)
 *   fork     fork of an address space of ~10 VMAs (the static kernel-side process itself), of
 *            30 000 VMAs (one-page VMAs that cannot merge, untouched), and with 1 MiB and 256 MiB
 *            of touched anonymous memory (copy_page_range: PTEs are copied, pages are not)
 *   munmap   munmap of a touched 64 MiB range (zap + free of 16 384 pages)
 *
 * The kernel side is bench/kernel_pages.c, compiled here with `cc -O2 -static` and driven over a
 * pipe (its header documents the protocol). Both sides build the same address space: the engine
 * task is exec'ed with a static image and padded with one-page VMAs until its map_count equals
 * the kernel process's, for every fork row. Transparent huge pages are off on the kernel side
 * (the engine models 4 KiB pages). Rounds interleave engine and kernel batches (alternating which
 * goes first); the figures are medians over the rounds, `paired` the median of the per-round
 * ratios. The engine's setup and teardown (mmap, stores before a fork, exit and wait4 of a fork
 * child) are not timed, like the kernel's.
 *
 * Progress goes to stderr (BENCH_VERBOSE=1 adds every round's figures); the table to stdout.
 * BENCH_ROUNDS overrides the number of rounds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import {
  MAP_ANONYMOUS,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../src/core/abi/mman.js";
import { Machine } from "../src/core/machine.js";
import { access_vm } from "../src/core/mm/access.js";
import { sys_mmap, sys_munmap } from "../src/core/mm/mmap.js";
import { do_execve } from "../src/core/task/exec.js";
import { do_exit, do_wait4 } from "../src/core/task/exit.js";
import { do_fork } from "../src/core/task/fork.js";
import type { ImageSpec } from "../src/core/task/image.js";
import type { task_struct } from "../src/core/task/task.js";
import { fail, fmt, fmtRatio, median } from "./figures.js";
import { compileC, fullGc, KernelChild } from "./kernel_child.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 9);
const PAGES = 16384; // 64 MiB
const VMAS = 30000;
const VMAS_BASE = 0x200000000000;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** A static, non-PIE executable like kernel_pages compiled with -static (no interpreter). */
const STATIC_IMAGE: ImageSpec = {
  path: "/bench/kernel_pages",
  pie: false,
  interp: null,
  segments: [
    { vaddr: 0x400000, offset: 0x0, filesz: 0x5c8, memsz: 0x5c8, prot: "r" },
    { vaddr: 0x401000, offset: 0x1000, filesz: 0x77a1d, memsz: 0x77a1d, prot: "rx" },
    { vaddr: 0x479000, offset: 0x79000, filesz: 0x26a2c, memsz: 0x26a2c, prot: "r" },
    { vaddr: 0x4a07b0, offset: 0xa07b0, filesz: 0x5b00, memsz: 0xb4e8, prot: "rw" },
  ],
};

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// Kernel side

/** "ok N" commands: N. */
async function kernelCount(k: KernelChild, line: string): Promise<number> {
  return (await k.expect(line, "ok"))[0]!;
}

/** Timed commands: elapsed ns. */
async function kernelNs(k: KernelChild, line: string): Promise<number> {
  return (await k.expect(line, "ns"))[0]!;
}

// ---------------------------------------------------------------------------------------------
// Engine side

interface Engine {
  m: Machine;
  t: task_struct;
  /** One-page VMAs added to reach the kernel's map_count. */
  fillers: number;
  touched: { addr: number; pages: number } | null;
}

function engineNew(): Engine {
  const m = new Machine({ seed: 1, profile: { randomizeVaSpace: 2, zeroPage: false } });
  const t = m.spawnEmpty({ comm: "kernel_pages" });
  const r = do_execve(m, t, { image: STATIC_IMAGE, argv: ["kernel_pages"] });
  if (!r.ok) fail(`engine execve: errno ${r.errno}`);
  return { m, t, fillers: 0, touched: null };
}

function mmapAnon(e: Engine, pages: number): number {
  const r = sys_mmap(e.m, e.t, 0, pages * PAGE_SIZE, RW, ANON, -1, 0);
  if (!r.ok) fail(`engine mmap: errno ${r.errno}`);
  return r.value;
}

const BYTE = new Uint8Array(1);

function store(e: Engine, addr: number, value: number): void {
  BYTE[0] = value;
  const r = access_vm(e.m, e.t, addr, 1, "write", BYTE);
  if (r.signal) fail(`engine store at ${addr.toString(16)}: ${r.signal.signo}`);
}

function storeAll(e: Engine, addr: number, pages: number, tag: number): void {
  for (let i = 0; i < pages; i++) store(e, addr + i * PAGE_SIZE, (i | tag) & 0xff);
}

function munmap(e: Engine, addr: number, pages: number): void {
  const r = sys_munmap(e.m, e.t, addr, pages * PAGE_SIZE);
  if (!r.ok) fail(`engine munmap: errno ${r.errno}`);
}

/** Add or remove one-page VMAs (alternating PROT_READ / PROT_NONE, two pages apart) to reach `want`. */
function engineMapCount(e: Engine, want: number): void {
  const mm = e.t.mm!;
  while (mm.map_count < want) {
    const a = VMAS_BASE + 2 * e.fillers * PAGE_SIZE;
    const r = sys_mmap(
      e.m,
      e.t,
      a,
      PAGE_SIZE,
      e.fillers & 1 ? PROT_NONE : PROT_READ,
      ANON | MAP_FIXED_NOREPLACE,
      -1,
      0,
    );
    if (!r.ok || r.value !== a) fail("engine filler mmap");
    e.fillers++;
  }
  while (mm.map_count > want && e.fillers > 0) {
    e.fillers--;
    munmap(e, VMAS_BASE + 2 * e.fillers * PAGE_SIZE, 1);
  }
  if (mm.map_count !== want) fail(`engine map_count ${mm.map_count}, kernel ${want}`);
}

function engineTouched(e: Engine, pages: number): void {
  if (e.touched) munmap(e, e.touched.addr, e.touched.pages);
  e.touched = null;
  if (pages) {
    const addr = mmapAnon(e, pages);
    storeAll(e, addr, pages, 1);
    e.touched = { addr, pages };
  }
}

function now(): bigint {
  return process.hrtime.bigint();
}

function engTouch(e: Engine, pages: number): number {
  const addr = mmapAnon(e, pages);
  const t0 = now();
  storeAll(e, addr, pages, 1);
  const t1 = now();
  munmap(e, addr, pages);
  return Number(t1 - t0);
}

const FULL = new Uint8Array(PAGE_SIZE);

function engCow(e: Engine, pages: number, full: boolean): number {
  const addr = mmapAnon(e, pages);
  if (full) {
    for (let i = 0; i < pages; i++) {
      // What kernel_pages writes: (i + j) | 1 at byte j of page i.
      for (let j = 0; j < PAGE_SIZE; j++) FULL[j] = ((i + j) & 0xff) | 1;
      const r = access_vm(e.m, e.t, addr + i * PAGE_SIZE, PAGE_SIZE, "write", FULL);
      if (r.signal) fail("engine store");
    }
  } else storeAll(e, addr, pages, 1);
  const c = do_fork(e.m, e.t, 0);
  if (!c.ok) fail("engine fork");
  const t0 = now();
  storeAll(e, addr, pages, 2);
  const t1 = now();
  reap(e, c.value);
  munmap(e, addr, pages);
  return Number(t1 - t0);
}

function reap(e: Engine, child: task_struct): void {
  do_exit(e.m, child, 0);
  const w = do_wait4(e.m, e.t, child.pid);
  if (!w.ok || w.value.pid !== child.pid) fail("engine wait4");
}

function engFork(e: Engine, k: number): number {
  let total = 0n;
  for (let i = 0; i < k; i++) {
    const t0 = now();
    const c = do_fork(e.m, e.t, 0);
    const t1 = now();
    if (!c.ok) fail("engine fork");
    total += t1 - t0;
    reap(e, c.value);
  }
  return Number(total);
}

function engMunmap(e: Engine, pages: number): number {
  const addr = mmapAnon(e, pages);
  storeAll(e, addr, pages, 1);
  const t0 = now();
  munmap(e, addr, pages);
  return Number(now() - t0);
}

// ---------------------------------------------------------------------------------------------
// Driver

interface Row {
  key: string;
  title: string;
  unit: string;
  /** Divides a batch's ns into the unit. */
  per: number;
  engine: number[];
  kernel: number[];
}

async function measure(
  rows: Row[],
  row: Omit<Row, "engine" | "kernel">,
  eng: () => number,
  ker: () => Promise<number>,
): Promise<void> {
  const r: Row = { ...row, engine: [], kernel: [] };
  const t0 = Date.now();
  // Untimed runs of each side first (JIT, the kernel's page allocator): at least two, and 300 ms.
  const until = Date.now() + 300;
  for (let i = 0; i < 2 || Date.now() < until; i++) eng();
  await ker();
  for (let i = 0; i < ROUNDS; i++) {
    fullGc();
    if (i % 2 === 0) {
      r.engine.push(eng() / row.per);
      r.kernel.push((await ker()) / row.per);
    } else {
      r.kernel.push((await ker()) / row.per);
      r.engine.push(eng() / row.per);
    }
  }
  if (process.env["BENCH_VERBOSE"]) {
    log(`  engine ${r.engine.map((x) => x.toFixed(0)).join(" ")}`);
    log(`  kernel ${r.kernel.map((x) => x.toFixed(0)).join(" ")}`);
  }
  log(`${row.key}: measured in ${Date.now() - t0} ms`);
  rows.push(r);
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "mmsim-bench-pages-"));
  let k: KernelChild | undefined;
  try {
    const { bin, linking } = compileC(dir, "kernel_pages", { static: true });
    k = KernelChild.start(bin, "kernel_pages");
    const hello = await k.next();
    if (hello[0] !== "ready") fail(`kernel_pages greeting ${hello.join(" ")}`);
    const kk = k;
    const e = engineNew();
    const rows: Row[] = [];

    await measure(
      rows,
      {
        key: "touch",
        title: `first-touch fault, one store per page, ${PAGES} pages`,
        unit: "ns/page",
        per: PAGES,
      },
      () => engTouch(e, PAGES),
      () => kernelNs(kk, `touch ${PAGES}`),
    );
    await measure(
      rows,
      {
        key: "cow",
        title: `copy-on-write fault after fork, one store per page, ${PAGES} pages`,
        unit: "ns/page",
        per: PAGES,
      },
      () => engCow(e, PAGES, false),
      () => kernelNs(kk, `cow ${PAGES}`),
    );
    await measure(
      rows,
      {
        key: "cowfull",
        title: `copy-on-write fault after fork, pages written all over before it (4 KiB copies), ${PAGES} pages`,
        unit: "ns/page",
        per: PAGES,
      },
      () => engCow(e, PAGES, true),
      () => kernelNs(kk, `cowfull ${PAGES}`),
    );

    const base = await kernelCount(kk, "maps");
    const forkRow = async (key: string, title: string, forks: number, mapCount: number) => {
      engineMapCount(e, mapCount);
      fullGc();
      await measure(
        rows,
        {
          key,
          title: `${title} (map_count ${mapCount}, ${forks} forks per batch)`,
          unit: "ns/fork",
          per: forks,
        },
        () => engFork(e, forks),
        () => kernelNs(kk, `fork ${forks}`),
      );
    };
    await forkRow("fork10", "fork, the process itself (~10 VMAs)", 100, base);
    const many = await kernelCount(kk, `vmas ${VMAS - base}`);
    await forkRow("fork30k", `fork, ${VMAS} VMAs (one-page, untouched)`, 4, many);
    if ((await kernelCount(kk, "unvmas")) !== base) fail("kernel unvmas");
    engineMapCount(e, base);
    for (const [key, mib, forks] of [
      ["fork1m", 1, 100],
      ["fork256m", 256, 3],
    ] as const) {
      const pages = (mib << 20) / PAGE_SIZE;
      const n = await kernelCount(kk, `touched ${pages}`);
      engineTouched(e, pages);
      await forkRow(key, `fork, ${mib} MiB of anonymous memory touched`, forks, n);
      await kernelCount(kk, "touched 0");
      engineTouched(e, 0);
    }
    await measure(
      rows,
      {
        key: "munmap",
        title: `munmap of a touched ${(PAGES * PAGE_SIZE) >> 20} MiB range`,
        unit: "ns/munmap",
        per: 1,
      },
      () => engMunmap(e, PAGES),
      () => kernelNs(kk, `munmap ${PAGES}`),
    );
    await k.quit();
    k = undefined;

    const cpu = cpus();
    const out: string[] = [];
    out.push("mmsim pages: engine vs host kernel, medians");
    out.push(
      `host: Linux ${hello[1] ?? "?"}, ${cpu[0]?.model ?? "?"} x${cpu.length}, node ${process.version}; kernel side ${linking}, ` +
        `THP off; ${ROUNDS} interleaved rounds`,
    );
    out.push(
      "ratio = median engine / median kernel (target <= 0.5); paired = median of the per-round ratios",
    );
    for (const r of rows) {
      const me = median(r.engine);
      const mk = median(r.kernel);
      out.push("");
      out.push(`[${r.key}] ${r.title}`);
      out.push(`  engine ${fmt(me).padStart(10)} ${r.unit}`);
      out.push(`  kernel ${fmt(mk).padStart(10)} ${r.unit}`);
      out.push(
        `  ratio ${fmtRatio(me / mk)}   (paired ${fmtRatio(median(r.engine.map((x, i) => x / r.kernel[i]!)))})`,
      );
    }
    out.push("");
    out.push(`total run time ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    if (k) await k.quit().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
