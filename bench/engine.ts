/**
 * `npm run bench:engine`: the engine's cost of four address-space operations against the host
 * kernel's, at map_count 10, 1 000, 30 000 and 65 530.
 *
 * The kernel side is bench/kernel_bench.c, compiled here with `cc -O2` into a temporary directory
 * and driven over a pipe (its header comment documents the protocol, the layout and each op). Both
 * sides build the same address space, VMA for VMA, with the same map_count:
 *
 *   - `base` VMAs just below mmap_base with no free page among them: on the kernel side the
 *     process's own mappings (libc, ld.so, vdso, exe, heap, stack) plus PROT_NONE fillers closing
 *     their gaps; on the engine side as many one-page fillers (alternating PROT_NONE/PROT_READ).
 *   - the window right below them: created-1 one-page PROT_READ VMAs, each with a one-page hole
 *     below it (so none can merge);
 *   - a 16-page rw VMA 1024 pages below the window (the mprotect target).
 *
 * "map_count N" creates N VMAs (window + mprotect target); at 65 530 the kernel's
 * vm.max_map_count leaves room for only max_map_count - base - 16, and both sides use that count.
 *
 * Ops, one "op" each (ns/op = median over ROUNDS interleaved engine/kernel batches):
 *   1 mmap+munmap one page, anonymous private rw, no hint (lands in the highest one-page hole of
 *     the window, merging with nothing; the address is checked on every call, on both sides).
 *   2 mprotect one page in the middle of the 16-page VMA to PROT_READ (split into three), then
 *     back to PROT_READ|PROT_WRITE (merge back into one): both calls are one op.
 *   3 find_vma at random page addresses in the window. The kernel has no find_vma syscall; its
 *     figure is msync(addr, 4096, MS_ASYNC) - msync(addr, 0, MS_ASYNC), the two interleaved in
 *     chunks of 256 calls inside each batch (median of the per-round differences): the first takes
 *     mmap_read_lock, does exactly one find_vma() and returns, the second returns before the lock,
 *     so the difference is lock + find_vma + unlock without the syscall entry/exit. The raw msync
 *     figures are printed too.
 *   4 get_unmapped_area in a fragmented space: mmap+munmap of two pages, anonymous private rw, no
 *     hint. The top-down search must skip every one-page hole of the window and lands just below
 *     it (checked on every call). Both sides time mmap+munmap; the engine's get_unmapped_area()
 *     alone is printed as an extra line.
 *
 * Each row also prints `paired` (the median of the per-round engine/kernel ratios, steadier on a
 * noisy host than the ratio of medians) and, for the syscall ops, the kernel figure without its
 * syscall entries/exits (one msync(addr, 0, MS_ASYNC) subtracted per syscall) with the engine's
 * ratio to that. A growth line per op gives cost at 65 530 / cost at 1 000 for each side.
 *
 * Progress goes to stderr (BENCH_VERBOSE=1 adds every round's figures); the table to stdout.
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
import { sys_mmap, sys_munmap } from "../src/core/mm/mmap.js";
import { get_unmapped_area } from "../src/core/mm/mmap_layout.js";
import { sys_mprotect } from "../src/core/mm/mprotect.js";
import type { mm_struct } from "../src/core/mm/types.js";
import { find_vma } from "../src/core/mm/vma.js";
import type { task_struct } from "../src/core/task/task.js";
import { fail, fmt, fmtRatio, median } from "./figures.js";
import { compileC, fullGc, KernelChild } from "./kernel_child.js";

const MAP_COUNTS = [10, 1000, 30000, 65530] as const;
/** Interleaved rounds per (op, map_count); the reported figure is their median. */
const ROUNDS = 21;
/** Each timed batch runs about this long. */
const TARGET_BATCH_NS = 20e6;
const MIN_ITERS = 200;
const MAX_ITERS = 5_000_000;
const CALIBRATION_ITERS = 500;

const PAGE = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
// These must match kernel_bench.c.
const MPROT_PAGES = 16;
const MPROT_PAGE = 8;
const MPROT_BELOW = 1024;
const NADDRS = 4096;

// ---------------------------------------------------------------------------------------------
// Engine side

interface EngineSpace {
  m: Machine;
  task: task_struct;
  mm: mm_struct;
  total: number;
  W: number;
  Wend: number;
  M: number;
  hole1: number;
  gua2: number;
  addrs: Float64Array;
}

function mapFixed(m: Machine, task: task_struct, addr: number, len: number, prot: number): void {
  const r = sys_mmap(m, task, addr, len, prot, ANON | MAP_FIXED_NOREPLACE, -1, 0);
  if (!r.ok) fail(`engine mmap fixed ${addr.toString(16)}: errno ${r.errno}`);
  if (r.value !== addr) fail(`engine mmap fixed ${addr.toString(16)} landed at ${r.value.toString(16)}`);
}

function expectCount(mm: mm_struct, want: number, what: string): void {
  if (mm.map_count !== want) fail(`engine ${what}: map_count ${mm.map_count}, expected ${want}`);
}

/** The engine twin of kernel_bench.c setup(): `base` fillers, then the window and the mprotect VMA. */
function engineSetup(base: number, created: number, maxMapCount: number): EngineSpace {
  const m = new Machine({ seed: 1, profile: { randomizeVaSpace: 0, maxMapCount } });
  const task = m.spawnEmpty({ comm: "bench" });
  const mm = task.mm!;
  const top = mm.mmap_base;
  for (let j = 0; j < base; j++) {
    // The lowest filler (j = base - 1) is PROT_NONE, so the window's top VMA cannot merge with it.
    mapFixed(m, task, top - (j + 1) * PAGE, PAGE, (base - 1 - j) % 2 === 0 ? PROT_NONE : PROT_READ);
  }
  expectCount(mm, base, "fillers");
  const count = created - 1;
  const Wend = top - base * PAGE;
  const W = Wend - 2 * count * PAGE;
  const M = W - MPROT_BELOW * PAGE;
  for (let i = 0; i < count; i++) mapFixed(m, task, W + (2 * i + 1) * PAGE, PAGE, PROT_READ);
  mapFixed(m, task, M, MPROT_PAGES * PAGE, RW);
  const total = base + created;
  expectCount(mm, total, "setup");
  const hole1 = W + 2 * (count - 1) * PAGE;
  const gua2 = W - PAGE;
  for (const [len, want] of [
    [PAGE, hole1],
    [2 * PAGE, gua2],
  ] as const) {
    const r = sys_mmap(m, task, 0, len, RW, ANON, -1, 0);
    if (!r.ok || r.value !== want)
      fail(`engine probe mmap(${len}) -> ${JSON.stringify(r)}, expected ${want}`);
    expectCount(mm, total + 1, `probe mmap(${len})`);
    if (!sys_munmap(m, task, want, len).ok) fail("engine probe munmap");
    expectCount(mm, total, "probe munmap");
  }
  const mp = M + MPROT_PAGE * PAGE;
  if (!sys_mprotect(m, task, mp, PAGE, PROT_READ).ok) fail("engine probe mprotect");
  expectCount(mm, total + 2, "mprotect split");
  if (!sys_mprotect(m, task, mp, PAGE, RW).ok) fail("engine probe mprotect back");
  expectCount(mm, total, "mprotect merge");
  // Same generator and formula as kernel_bench.c.
  const addrs = new Float64Array(NADDRS);
  let x = 0x9e3779b97f4a7c15n;
  const mask = (1n << 64n) - 1n;
  for (let i = 0; i < NADDRS; i++) {
    x ^= (x << 13n) & mask;
    x ^= x >> 7n;
    x ^= (x << 17n) & mask;
    addrs[i] = W + Number(x % BigInt(2 * count)) * PAGE;
  }
  return { m, task, mm, total, W, Wend, M, hole1, gua2, addrs };
}

type EngineOp = (s: EngineSpace, iters: number) => number;

/** Op 1: mmap + munmap of one page; returns ns/op. */
function engMmap1(s: EngineSpace, iters: number): number {
  const { m, task, hole1 } = s;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) {
    const r = sys_mmap(m, task, 0, PAGE, RW, ANON, -1, 0);
    if (!r.ok || r.value !== hole1) fail(`op1 mmap -> ${JSON.stringify(r)}`);
    if (!sys_munmap(m, task, hole1, PAGE).ok) fail("op1 munmap");
  }
  const t1 = process.hrtime.bigint();
  expectCount(s.mm, s.total, "op1");
  return Number(t1 - t0) / iters;
}

/** Op 2: mprotect split + merge. */
function engMprotect(s: EngineSpace, iters: number): number {
  const { m, task } = s;
  const mp = s.M + MPROT_PAGE * PAGE;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) {
    if (!sys_mprotect(m, task, mp, PAGE, PROT_READ).ok) fail("op2 mprotect R");
    if (!sys_mprotect(m, task, mp, PAGE, RW).ok) fail("op2 mprotect RW");
  }
  const t1 = process.hrtime.bigint();
  expectCount(s.mm, s.total, "op2");
  return Number(t1 - t0) / iters;
}

let sink = 0;

/** Op 3: find_vma at random addresses of the window. */
function engFindVma(s: EngineSpace, iters: number): number {
  const { mm, addrs } = s;
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) {
    const v = find_vma(mm, addrs[i & (NADDRS - 1)]!);
    if (v === undefined) fail("op3 find_vma found nothing");
    acc += v.vm_start;
  }
  const t1 = process.hrtime.bigint();
  sink += acc;
  return Number(t1 - t0) / iters;
}

/** Op 4: mmap + munmap of two pages through the fragmented window. */
function engGua2(s: EngineSpace, iters: number): number {
  const { m, task, gua2 } = s;
  const len = 2 * PAGE;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) {
    const r = sys_mmap(m, task, 0, len, RW, ANON, -1, 0);
    if (!r.ok || r.value !== gua2) fail(`op4 mmap -> ${JSON.stringify(r)}`);
    if (!sys_munmap(m, task, gua2, len).ok) fail("op4 munmap");
  }
  const t1 = process.hrtime.bigint();
  expectCount(s.mm, s.total, "op4");
  return Number(t1 - t0) / iters;
}

/** Op 4, engine only: get_unmapped_area() alone (no VMA is created). */
function engGua2Only(s: EngineSpace, iters: number): number {
  const { m, task, gua2 } = s;
  const len = 2 * PAGE;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) {
    const a = get_unmapped_area(m, task, null, 0, len, 0, ANON);
    if (a !== gua2) fail(`op4 get_unmapped_area -> ${a}`);
  }
  const t1 = process.hrtime.bigint();
  return Number(t1 - t0) / iters;
}

// ---------------------------------------------------------------------------------------------
// Kernel side

/** ns/op of `iters` runs of kernel op `op` (op 3 gives two figures: 1 page, len 0). */
async function kernelRun(k: KernelChild, op: number, iters: number): Promise<number[]> {
  return (await k.expect(`run ${op} ${iters}`, "ns")).map((x) => x / iters);
}

// ---------------------------------------------------------------------------------------------
// Driver

interface OpSpec {
  key: string;
  title: string;
  /** Syscalls per kernel op (for the figure without syscall entry/exit); 0 = not applicable. */
  syscalls: number;
  engine: EngineOp;
  /** kernel_bench op number; when it replies two figures, the op's figure is first - second. */
  kernel: number;
}

const OPS: readonly OpSpec[] = [
  {
    key: "mmap",
    title: "mmap+munmap, 1 page, anonymous private rw, no hint (lands in the highest 1-page hole, no merge)",
    syscalls: 2,
    engine: engMmap1,
    kernel: 1,
  },
  {
    key: "mprotect",
    title:
      "mprotect split+merge: page 8 of a 16-page rw VMA to PROT_READ, then back to rw (one op = both calls)",
    syscalls: 2,
    engine: engMprotect,
    kernel: 2,
  },
  {
    key: "find_vma",
    title:
      "find_vma at random page addresses in the window; kernel = msync(addr,4096,MS_ASYNC) - msync(addr,0,MS_ASYNC), " +
      "interleaved in chunks of 256 (mmap_read_lock + one find_vma + unlock; syscall entry/exit subtracted)",
    syscalls: 0,
    engine: engFindVma,
    kernel: 3,
  },
  {
    key: "gua",
    title:
      "get_unmapped_area in a fragmented space: mmap+munmap, 2 pages, anonymous private rw, no hint " +
      "(skips every 1-page hole, lands just below the window)",
    syscalls: 2,
    engine: engGua2,
    kernel: 4,
  },
];

interface Row {
  mapCount: number;
  created: number;
  total: number;
  base: number;
  engine: Record<string, number>;
  kernel: Record<string, number>;
  /** Median of the per-round engine/kernel ratios (each round's two batches ran back to back). */
  paired: Record<string, number>;
  /** Extra figures: raw kernel msync, engine get_unmapped_area alone. */
  extra: Record<string, number>;
}

function itersFor(nsPerOp: number): number {
  const n = Math.round(TARGET_BATCH_NS / Math.max(nsPerOp, 1));
  return Math.min(MAX_ITERS, Math.max(MIN_ITERS, n));
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function measure(k: KernelChild, mapCount: number, maxMapCount: number): Promise<Row> {
  const t0 = Date.now();
  const f = await k.cmd(`setup ${mapCount}`);
  if (f[0] !== "ok") fail(`kernel_bench setup: ${f.join(" ")}`);
  const base = Number(f[1]);
  const created = Number(f[2]);
  const total = Number(f[3]);
  const s = engineSetup(base, created, maxMapCount);
  fullGc();
  if (s.total !== total) fail(`engine total ${s.total} != kernel total ${total}`);
  log(`map_count ${mapCount}: created ${created}, total ${total} (setup ${Date.now() - t0} ms)`);

  // Calibrate batch sizes (this also warms the engine code at this size).
  const engIters: Record<string, number> = {};
  const kerIters: Record<string, number> = {};
  for (const op of OPS) {
    op.engine(s, CALIBRATION_ITERS);
    engIters[op.key] = itersFor(op.engine(s, CALIBRATION_ITERS));
    const kv = await kernelRun(k, op.kernel, CALIBRATION_ITERS);
    // A paired op runs both halves: size the batch on their sum.
    kerIters[op.key] = itersFor(kv.reduce((a, b) => a + b, 0));
  }
  engIters["gua_only"] = itersFor(engGua2Only(s, CALIBRATION_ITERS));

  const eng: Record<string, number[]> = {};
  const ker: Record<string, number[]> = {};
  const raw: Record<string, number[]> = {};
  const push = (rec: Record<string, number[]>, key: string, v: number) => {
    const list = rec[key];
    if (list) list.push(v);
    else rec[key] = [v];
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const op of OPS) {
      const runEngine = () => push(eng, op.key, op.engine(s, engIters[op.key]!));
      const runKernel = async () => {
        const v = await kernelRun(k, op.kernel, kerIters[op.key]!);
        if (v.length === 2) {
          push(raw, `${op.key}_with`, v[0]!);
          push(raw, `${op.key}_without`, v[1]!);
        }
        push(ker, op.key, v.length === 2 ? v[0]! - v[1]! : v[0]!);
      };
      // Alternate which side goes first.
      if (round % 2 === 0) {
        runEngine();
        await runKernel();
      } else {
        await runKernel();
        runEngine();
      }
    }
    push(eng, "gua_only", engGua2Only(s, engIters["gua_only"]!));
  }
  if (process.env["BENCH_VERBOSE"]) {
    for (const [side, rec] of [
      ["engine", eng],
      ["kernel", ker],
    ] as const) {
      for (const [key, v] of Object.entries(rec))
        log(`  ${side} ${key}: ${v.map((x) => x.toFixed(0)).join(" ")}`);
    }
  }
  const g = await k.cmd("teardown");
  if (g[0] !== "ok" || Number(g[1]) !== base) fail(`kernel_bench teardown: ${g.join(" ")}`);
  log(`map_count ${mapCount}: measured in ${Date.now() - t0} ms`);

  const row: Row = { mapCount, created, total, base, engine: {}, kernel: {}, paired: {}, extra: {} };
  for (const op of OPS) {
    const e = eng[op.key]!;
    const kk = ker[op.key]!;
    row.engine[op.key] = median(e);
    row.kernel[op.key] = median(kk);
    row.paired[op.key] = median(e.map((x, i) => x / kk[i]!));
  }
  row.extra["msync1"] = median(raw["find_vma_with"]!);
  row.extra["msync0"] = median(raw["find_vma_without"]!);
  row.extra["gua_only"] = median(eng["gua_only"]!);
  return row;
}

/** Run every engine op for a while on a throwaway space so the JIT has settled before timing. */
function warmUp(maxMapCount: number): void {
  const s = engineSetup(24, 1000, maxMapCount);
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    for (const op of OPS) op.engine(s, 2000);
    engGua2Only(s, 2000);
  }
}

function report(rows: Row[], kernelRelease: string, maxMapCount: number, seconds: number): void {
  const out: string[] = [];
  const cpu = cpus();
  out.push("mmsim engine vs host kernel: median ns/op");
  out.push(
    `host: Linux ${kernelRelease}, ${cpu[0]?.model ?? "?"} x${cpu.length}, node ${process.version}, ` +
      `vm.max_map_count ${maxMapCount}; ${ROUNDS} interleaved rounds of ~${TARGET_BATCH_NS / 1e6} ms batches`,
  );
  out.push(
    "map_count N = VMAs created (1-page PROT_READ VMAs with 1-page holes + one 16-page rw VMA); total = created + " +
      `the baseline (kernel: the process's own VMAs; engine: as many fillers), identical on both sides`,
  );
  out.push(
    "ratio = median engine / median kernel (below 1: the engine is faster); paired = median of the per-round ratios",
  );
  out.push(
    "kernel without syscall entry/exit: the kernel figure minus one msync(addr, 0, MS_ASYNC) per syscall " +
      "(a syscall that returns before taking any lock; an estimate of entry/exit cost on this host)",
  );
  for (const op of OPS) {
    out.push("");
    out.push(`[${op.key}] ${op.title}`);
    for (const r of rows) {
      const e = r.engine[op.key]!;
      const k = r.kernel[op.key]!;
      out.push(`  map_count ${r.mapCount} (created ${r.created}, total ${r.total})`);
      out.push(`    engine ${fmt(e).padStart(8)} ns/op`);
      if (op.key === "find_vma") {
        out.push(
          `    kernel ${fmt(k).padStart(8)} ns/op   (msync 1 page ${fmt(r.extra["msync1"]!)} - msync len 0 ${fmt(r.extra["msync0"]!)}; ` +
            `engine/raw msync ${fmtRatio(e / r.extra["msync1"]!)})`,
        );
      } else {
        out.push(`    kernel ${fmt(k).padStart(8)} ns/op`);
      }
      if (op.syscalls) {
        const sys = r.extra["msync0"]!;
        out.push(
          `    (kernel without syscall entry/exit: ${fmt(k - op.syscalls * sys)} ns = ${fmt(k)} - ${op.syscalls} x ${fmt(sys)}; ` +
            `engine / that ${fmtRatio(e / (k - op.syscalls * sys))})`,
        );
      }
      if (op.key === "gua")
        out.push(`    (engine get_unmapped_area() alone: ${fmt(r.extra["gua_only"]!)} ns)`);
      out.push(`    ratio ${fmtRatio(e / k)}   (paired ${fmtRatio(r.paired[op.key]!)})`);
    }
    const at = (n: number) => rows.find((r) => r.mapCount === n);
    const hi = at(65530);
    const lo = at(1000);
    if (hi && lo) {
      out.push(
        `  growth 65530/1000 (${hi.total}/${lo.total} VMAs): engine ${fmtRatio(hi.engine[op.key]! / lo.engine[op.key]!)}x, ` +
          `kernel ${fmtRatio(hi.kernel[op.key]! / lo.kernel[op.key]!)}x`,
      );
    }
  }
  out.push("");
  out.push(`total run time ${seconds.toFixed(1)} s`);
  process.stdout.write(`${out.join("\n")}\n`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "mmsim-bench-"));
  let k: KernelChild | undefined;
  try {
    const { bin } = compileC(dir, "kernel_bench");
    k = KernelChild.start(bin, "kernel_bench");
    const hello = await k.next();
    if (hello[0] !== "ready") fail(`kernel_bench: unexpected greeting ${hello.join(" ")}`);
    const maxMapCount = Number(hello[1]);
    const release = hello[2] ?? "?";
    log("warming up the engine");
    warmUp(maxMapCount);
    const rows: Row[] = [];
    for (const n of MAP_COUNTS) rows.push(await measure(k, n, maxMapCount));
    await k.quit();
    k = undefined;
    if (sink === 0.5) log("");
    report(rows, release, maxMapCount, (Date.now() - started) / 1000);
  } finally {
    if (k) await k.quit().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
