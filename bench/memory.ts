/**
 * `npm run bench:memory`: what an idle task costs. Each figure is the growth of the JS heap
 * (heapUsed) plus typed-array backing stores (arrayBuffers) across creating N of something, after
 * full garbage collections, divided by N:
 *
 *   task      spawn + execve of the default image (a PIE with ld.so: 12 VMAs, the stack's
 *             arguments and auxiliary vector written, bss tails cleared): the whole per-task cost
 *   parts     the same task cost split by measuring its parts alone: an empty task (task_struct,
 *             mm_struct, fd table, empty VMA tree and page table), the VMA container holding 12
 *             entries (VmaTree alone, with placeholder entries whose own cost is subtracted), and
 *             the VMA objects
 *   10 000    10 000 such tasks in one machine (measured first, in a fresh process): heap +
 *             arrayBuffers in total, and how much the process RSS grew
 *
 * Targets (issue 4): an idle task <= 16 KiB; 10 000 of them in one machine within 200 MiB.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { VmaTree } from "../src/core/lib/vma_tree.js";
import { Machine } from "../src/core/machine.js";
import type { mm_struct } from "../src/core/mm/types.js";
import { do_execve } from "../src/core/task/exec.js";
import type { task_struct } from "../src/core/task/task.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function used(): number {
  for (let i = 0; i < 4; i++) gc();
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

/** Bytes per item of `make` (kept alive in an array while measuring). */
function perItem(n: number, make: (i: number) => unknown): number {
  const keep: unknown[] = new Array(n);
  const before = used();
  for (let i = 0; i < n; i++) keep[i] = make(i);
  const after = used();
  if (keep.length !== n) throw new Error("unreachable");
  return (after - before) / n;
}

const kib = (b: number) => `${(b / 1024).toFixed(2)} KiB`;
const N = Number(process.env["MEM_N"] ?? 4000);

function newMachine(): Machine {
  const m = new Machine({ seed: 1, profile: { randomizeVaSpace: 2 } });
  // A first task so that shared per-machine state (image files, buffers) is not charged to tasks.
  const t = m.spawnEmpty();
  do_execve(m, t, {});
  return m;
}

function idleTask(m: Machine): task_struct {
  const t = m.spawnEmpty();
  const r = do_execve(m, t, {});
  if (!r.ok) throw new Error(`execve: ${r.errno}`);
  return t;
}

const out: string[] = [];
out.push(`mmsim memory: heapUsed + arrayBuffers growth per item, N = ${N}, node ${process.version}`);

{
  const rss0 = process.memoryUsage().rss;
  const m = newMachine();
  const before = used();
  const keep: task_struct[] = [];
  for (let i = 0; i < 10000; i++) keep.push(idleTask(m));
  const after = used();
  const rss = process.memoryUsage().rss;
  out.push("");
  out.push(
    `10 000 idle tasks in one machine: ${((after - before) / 2 ** 20).toFixed(1)} MiB of heap + arrayBuffers ` +
      `(target <= 200 MiB); process RSS grew ${((rss - rss0) / 2 ** 20).toFixed(1)} MiB, to ${(rss / 2 ** 20).toFixed(1)} MiB`,
  );
  const mms = new Set<mm_struct>(keep.map((t) => t.mm!));
  if (mms.size !== 10000) throw new Error("tasks share mms");
}

{
  const m = newMachine();
  const task = perItem(N, () => idleTask(m));
  const sample = m.tasks.get(m.tasks.size)!.mm!;
  out.push("");
  out.push(`idle task (spawn + execve of the default image): ${kib(task)}   (target <= 16 KiB)`);
  out.push(
    `  ${sample.map_count} VMAs, ${sample.get_mm_rss()} resident pages, ${sample.pgd.nr_ptes} PTE tables; ` +
      `machine: ${m.frames.nr_used} frames, ${m.frames.contents.used} content slots, ` +
      `${kib(m.frames.contents.reserved_bytes)} of content buffers`,
  );

  const m2 = newMachine();
  const empty = perItem(N, () => m2.spawnEmpty());
  const gapOf = (v: { vm_start: number }) => v.vm_start;
  const ranges = [...sample.mm_mt].map((v) => [v.vm_start, v.vm_end] as const);
  const placeholders = perItem(N, () => ranges.map(([s, e]) => ({ vm_start: s, vm_end: e })));
  const trees = perItem(N, () => {
    const t = new VmaTree<{ vm_start: number; vm_end: number }>(gapOf);
    for (const [s, e] of ranges) t.insert({ vm_start: s, vm_end: e });
    return t;
  });
  const emptyTree = perItem(N, () => new VmaTree<{ vm_start: number; vm_end: number }>(gapOf));
  const container = trees - placeholders;
  out.push(`  empty task (task_struct, mm_struct, fd table, empty VMA tree): ${kib(empty)}`);
  out.push(
    `  VMA container (VmaTree with ${ranges.length} entries, entries excluded): ${kib(container)} ` +
      `(${((100 * container) / task).toFixed(0)}% of the task; an empty tree ${kib(emptyTree)})`,
  );
  out.push(
    `  the rest (VMAs, anon_vmas, page tables, frames, contents, files): ${kib(task - empty - container + emptyTree)}`,
  );
}

process.stdout.write(`${out.join("\n")}\n`);
