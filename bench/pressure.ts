/**
 * `npm run bench:engine` (third part): the engine under memory pressure, on its own (the host has
 * no swap to compare with).
 *
 *   thrash   a task on a machine of 64 MiB of RAM and 256 MiB of swap stores one byte to each page
 *            of a 128 MiB anonymous mapping, over and over: every store faults (the page was
 *            swapped out since the last pass), and every fault makes reclaim swap another page out.
 *            Figures: page faults per second, with what each fault cost in swap-ins and swap-outs,
 *            for the linux replacement policy and the classic ones (fifo, lru, clock).
 *   reclaim  the cost of reclaim alone, per page reclaimed: a machine whose RAM is full of pages
 *            touched once (anonymous pages, or clean page cache) is asked to make room for 4096
 *            pages at a time (reserve_pages, as an allocation would), which runs kswapd's reclaim:
 *            anonymous pages go to swap (scan, second chance, unmap, write), page-cache pages are
 *            dropped.
 *   baseline the first-touch fault of the same store on a machine without pressure, to read the
 *            thrash figure against.
 *
 * Figures are medians of rounds (BENCH_ROUNDS, default 9) after untimed warm-up passes. Unlike the
 * other benches, no full GC is forced between rounds: it flushes the compiled code of functions
 * that are idle at that moment (reclaim runs in bursts, and the reclaim rows fill RAM first), and
 * the figures would then measure their recompilation; the collections the workload causes itself
 * are in the figures. Target: at least 1 000 000 page faults per second under pressure. Progress
 * to stderr, the table to stdout.
 */
import { cpus } from "node:os";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  O_RDONLY,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from "../src/core/abi/mman.js";
import { sys_open } from "../src/core/fs/open.js";
import { sys_pread } from "../src/core/fs/read_write.js";
import { Machine } from "../src/core/machine.js";
import type { ReplacementPolicy } from "../src/core/mem/lru.js";
import { nr_free_pages } from "../src/core/mem/page_alloc.js";
import { RESERVE_OK, reserve_pages } from "../src/core/mem/vmscan.js";
import { access_vm } from "../src/core/mm/access.js";
import { sys_mmap, sys_munmap } from "../src/core/mm/mmap.js";
import type { task_struct } from "../src/core/task/task.js";
import { fail, fmt, median } from "./figures.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 9);
const MiB = 2 ** 20;
const RAM = 64 * MiB;
const SWAP = 256 * MiB;
const RAM_PAGES = RAM / PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function now(): bigint {
  return process.hrtime.bigint();
}

function machine(
  ram: number,
  swap: number,
  policy: ReplacementPolicy = "linux",
): { m: Machine; t: task_struct } {
  const m = new Machine({
    seed: 1,
    profile: { zeroPage: false, ramBytes: ram, swapBytes: swap, replacementPolicy: policy },
  });
  return { m, t: m.spawnEmpty({ comm: "bench" }) };
}

function mmapAnon(m: Machine, t: task_struct, pages: number): number {
  const r = sys_mmap(m, t, 0, pages * PAGE_SIZE, RW, ANON, -1, 0);
  if (!r.ok) fail(`mmap: errno ${r.errno}`);
  return r.value;
}

const BYTE = new Uint8Array(1);

/** One store to each page; returns ns. */
function pass(m: Machine, t: task_struct, addr: number, pages: number, tag: number): number {
  const t0 = now();
  for (let i = 0; i < pages; i++) {
    BYTE[0] = (i + tag) | 1;
    const r = access_vm(m, t, addr + i * PAGE_SIZE, 1, "write", BYTE);
    if (r.oom || r.signal) fail(`store at page ${i}: ${r.oom ?? r.signal?.signo}`);
  }
  return Number(now() - t0);
}

interface Thrash {
  policy: ReplacementPolicy;
  nsPerFault: number[];
  faultsPerPass: number;
  majorPerFault: number;
  swapinPerFault: number;
  swapoutPerFault: number;
  scannedPerFault: number;
}

function thrash(policy: ReplacementPolicy): Thrash {
  const { m, t } = machine(RAM, SWAP, policy);
  const pages = 2 * RAM_PAGES;
  const addr = mmapAnon(m, t, pages);
  // Warm-up: the first pass fills RAM and swap, the next ones reach the steady state (and the JIT):
  // at least three passes and a second.
  const until = Date.now() + 1000;
  let w = 0;
  for (; w < 3 || Date.now() < until; w++) pass(m, t, addr, pages, w);
  const e = m.vm_events;
  const f0 = e.pgfault;
  const maj0 = e.pgmajfault;
  const in0 = e.pswpin + e.swpin_zero;
  const out0 = e.pswpout + e.swpout_zero;
  const scan0 = e.pgscan_kswapd + e.pgscan_direct;
  const res: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const before = e.pgfault;
    const ns = pass(m, t, addr, pages, r + w);
    res.push(ns / (e.pgfault - before));
  }
  const faults = e.pgfault - f0;
  if (faults !== ROUNDS * pages) fail(`${policy}: ${faults} faults in ${ROUNDS} passes of ${pages} pages`);
  return {
    policy,
    nsPerFault: res,
    faultsPerPass: pages,
    majorPerFault: (e.pgmajfault - maj0) / faults,
    swapinPerFault: (e.pswpin + e.swpin_zero - in0) / faults,
    swapoutPerFault: (e.pswpout + e.swpout_zero - out0) / faults,
    scannedPerFault: (e.pgscan_kswapd + e.pgscan_direct - scan0) / faults,
  };
}

/** reclaim: ns per page reclaimed when room for 4096 pages is made on a full machine. */
function reclaimCost(kind: "anon" | "file"): number[] {
  const res: number[] = [];
  const BATCH = 4096;
  for (let r = 0; r < ROUNDS + 4; r++) {
    const { m, t } = machine(RAM, SWAP);
    // Filled to just above the low watermark (room left for the page tables): nothing reclaimed yet.
    const filled = nr_free_pages(m) - m.watermarks.low - 100;
    if (kind === "anon") pass(m, t, mmapAnon(m, t, filled), filled, 0);
    else {
      const f = m.fs.create("/cache", filled * PAGE_SIZE);
      f.disk.set(0, new Uint8Array(PAGE_SIZE).fill(1));
      const fd = sys_open(m, t, "/cache", O_RDONLY);
      if (!fd.ok) fail("open");
      for (let i = 0; i < filled; i += 256)
        if (!sys_pread(m, t, fd.value, 256 * PAGE_SIZE, i * PAGE_SIZE).ok) fail("pread");
    }
    const e = m.vm_events;
    if (e.pgscan_kswapd + e.pgscan_direct) fail(`${kind}: reclaim ran while filling`);
    const t0 = now();
    if (reserve_pages(m, BATCH, t.mm) !== RESERVE_OK) fail("reserve");
    const ns = Number(now() - t0);
    const stolen = e.pgsteal_kswapd + e.pgsteal_direct;
    if (stolen < BATCH / 2) fail(`${kind}: only ${stolen} pages reclaimed`);
    // The first four rounds warm up.
    if (r >= 4) res.push(ns / stolen);
  }
  return res;
}

/** The same store as a first-touch fault on a machine with room: ns per fault. */
function baseline(): number[] {
  const { m, t } = machine(8 * 1024 * MiB, 0);
  const pages = 2 * RAM_PAGES;
  const res: number[] = [];
  for (let r = 0; r < ROUNDS + 3; r++) {
    const addr = mmapAnon(m, t, pages);
    const ns = pass(m, t, addr, pages, r);
    if (r >= 3) res.push(ns / pages);
    if (!sys_munmap(m, t, addr, pages * PAGE_SIZE).ok) fail("munmap");
  }
  return res;
}

function main(): void {
  const started = Date.now();
  const rows: Thrash[] = [];
  for (const policy of ["linux", "fifo", "lru", "clock"] as const) {
    const t0 = Date.now();
    rows.push(thrash(policy));
    log(`thrash ${policy}: measured in ${Date.now() - t0} ms`);
  }
  const t1 = Date.now();
  const anon = reclaimCost("anon");
  const file = reclaimCost("file");
  log(`reclaim: measured in ${Date.now() - t1} ms`);
  const base = median(baseline());
  const cpu = cpus();
  const out: string[] = [];
  out.push("mmsim pressure: the engine thrashing, medians");
  out.push(
    `host: ${cpu[0]?.model ?? "?"} x${cpu.length}, node ${process.version}; machine: ${RAM / MiB} MiB RAM, ${SWAP / MiB} MiB swap; ${ROUNDS} rounds`,
  );
  out.push("target: at least 1 000 000 page faults/s under pressure (one core)");
  out.push("");
  out.push(
    `[thrash] one store per page over ${(2 * RAM) / MiB} MiB (2x RAM), repeated: every store faults (${2 * RAM_PAGES} faults a pass)`,
  );
  for (const r of rows) {
    const ns = median(r.nsPerFault);
    out.push(
      `  ${r.policy.padEnd(6)} ${fmt(ns).padStart(6)} ns/fault  ${Math.round(1e9 / ns)
        .toLocaleString("en-US")
        .padStart(
          10,
        )} faults/s   per fault: ${r.majorPerFault.toFixed(2)} major, ${r.swapinPerFault.toFixed(2)} swap-in, ${r.swapoutPerFault.toFixed(2)} swap-out, ${r.scannedPerFault.toFixed(2)} scanned`,
    );
  }
  out.push("");
  out.push(
    "[reclaim] making room for 4096 pages at a time on a full machine (kswapd's reclaim), per page reclaimed",
  );
  out.push(
    `  anon   ${fmt(median(anon)).padStart(6)} ns/page  (swapped out: scan, second chance, unmap, write)`,
  );
  out.push(`  file   ${fmt(median(file)).padStart(6)} ns/page  (clean page cache dropped)`);
  out.push("");
  out.push(`[baseline] the same store as a first-touch fault without pressure: ${fmt(base)} ns/fault`);
  const linux = median(rows[0]!.nsPerFault);
  out.push(
    `  linux thrash - baseline = ${fmt(linux - base)} ns per fault for the swap-in and the page reclaimed to make room`,
  );
  out.push("");
  out.push(`total run time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(`${out.join("\n")}\n`);
}

main();
