/**
 * The syscall table: every address-space call by name, with its arguments by name, run on a task.
 * The HTTP API, traces and tools go through here; when the machine has an event sink, each call is
 * reported with the VMAs of the affected ranges before and after it.
 */
import { errnoName } from "./abi/errno.js";
import { PAGE_SIZE, TASK_SIZE } from "./abi/mman.js";
import type { VmaFact } from "./events.js";
import { sys_close, sys_ftruncate } from "./fs/open.js";
import type { SysResult } from "./lib/result.js";
import type { Machine } from "./machine.js";
import { sys_brk } from "./mm/brk.js";
import { sys_madvise } from "./mm/madvise.js";
import { sys_mincore } from "./mm/mincore.js";
import { sys_mlock, sys_mlock2, sys_mlockall, sys_munlock, sys_munlockall } from "./mm/mlock.js";
import { sys_mmap, sys_munmap } from "./mm/mmap.js";
import { sys_mprotect } from "./mm/mprotect.js";
import { sys_mremap } from "./mm/mremap.js";
import { sys_msync } from "./mm/msync.js";
import { type mm_struct, vma_fact } from "./mm/types.js";
import type { task_struct } from "./task/task.js";

type Args = Record<string, number>;

interface Entry {
  run(m: Machine, t: task_struct, a: Args): SysResult<number | Uint8Array>;
  /** The address ranges the call may change, for the before/after views. */
  ranges(t: task_struct, a: Args, ret: number): [number, number][];
}

const n = (a: Args, k: string, d = 0) => a[k] ?? d;
const span = (start: number, len: number): [number, number] => [
  Math.max(0, start),
  Math.min(TASK_SIZE, start + Math.max(0, Math.ceil(len / PAGE_SIZE) * PAGE_SIZE)),
];
const whole = (): [number, number][] => [[0, TASK_SIZE]];

export const SYSCALLS: Readonly<Record<string, Entry>> = {
  mmap: {
    run: (m, t, a) =>
      sys_mmap(
        m,
        t,
        n(a, "addr"),
        n(a, "length"),
        n(a, "prot"),
        n(a, "flags"),
        n(a, "fd", -1),
        n(a, "offset"),
      ),
    ranges: (_t, a, ret) => [
      span(n(a, "addr"), n(a, "length")),
      ...(ret >= 0 ? [span(ret, n(a, "length"))] : []),
    ],
  },
  munmap: {
    run: (m, t, a) => sys_munmap(m, t, n(a, "addr"), n(a, "length")),
    ranges: (_t, a) => [span(n(a, "addr"), n(a, "length"))],
  },
  mprotect: {
    run: (m, t, a) => sys_mprotect(m, t, n(a, "addr"), n(a, "length"), n(a, "prot")),
    ranges: (_t, a) => [span(n(a, "addr"), n(a, "length"))],
  },
  mremap: {
    run: (m, t, a) =>
      sys_mremap(
        m,
        t,
        n(a, "old_address"),
        n(a, "old_size"),
        n(a, "new_size"),
        n(a, "flags"),
        n(a, "new_address"),
      ),
    ranges: (_t, a, ret) => [
      span(n(a, "old_address"), Math.max(n(a, "old_size"), n(a, "new_size"))),
      ...(ret >= 0 ? [span(ret, n(a, "new_size"))] : []),
    ],
  },
  brk: {
    run: (m, t, a) => sys_brk(m, t, n(a, "addr")),
    ranges: (t, a) => [[t.mm!.start_brk, Math.max(t.mm!.start_brk, n(a, "addr"), t.mm!.brk) + PAGE_SIZE]],
  },
  madvise: {
    run: (m, t, a) => sys_madvise(m, t, n(a, "addr"), n(a, "length"), n(a, "advice")),
    ranges: (_t, a) => [span(n(a, "addr"), n(a, "length"))],
  },
  mlock: {
    run: (m, t, a) => sys_mlock(m, t, n(a, "addr"), n(a, "length")),
    ranges: (_t, a) => [span(n(a, "addr"), n(a, "length") + PAGE_SIZE)],
  },
  mlock2: {
    run: (m, t, a) => sys_mlock2(m, t, n(a, "addr"), n(a, "length"), n(a, "flags")),
    ranges: (_t, a) => [span(n(a, "addr"), n(a, "length") + PAGE_SIZE)],
  },
  munlock: {
    run: (m, t, a) => sys_munlock(m, t, n(a, "addr"), n(a, "length")),
    ranges: (_t, a) => [span(n(a, "addr"), n(a, "length") + PAGE_SIZE)],
  },
  mlockall: { run: (m, t, a) => sys_mlockall(m, t, n(a, "flags")), ranges: whole },
  munlockall: { run: (m, t) => sys_munlockall(m, t), ranges: whole },
  msync: { run: (m, t, a) => sys_msync(m, t, n(a, "addr"), n(a, "length"), n(a, "flags")), ranges: () => [] },
  mincore: { run: (m, t, a) => sys_mincore(m, t, n(a, "addr"), n(a, "length")), ranges: () => [] },
  close: { run: (_m, t, a) => sys_close(t, n(a, "fd")), ranges: () => [] },
  ftruncate: { run: (m, t, a) => sys_ftruncate(m, t, n(a, "fd"), n(a, "length")), ranges: () => [] },
};

function view(mm: mm_struct, ranges: [number, number][]): VmaFact[] {
  const seen = new Set<unknown>();
  const out: VmaFact[] = [];
  for (const [s, e] of ranges) {
    if (e <= s) continue;
    // One page more on each side: the neighbours a split or merge changes.
    for (const v of mm.mm_mt.range(Math.max(0, s - PAGE_SIZE), e + PAGE_SIZE)) {
      if (seen.has(v)) continue;
      seen.add(v);
      out.push(vma_fact(v));
    }
  }
  return out.sort((x, y) => x.start - y.start);
}

/** Run a call by name. Unknown names are a caller bug (the API validates names first). */
export function do_syscall(
  m: Machine,
  task: task_struct,
  call: string,
  args: Args,
): SysResult<number | Uint8Array> {
  const e = SYSCALLS[call];
  if (!e) throw new Error(`unknown call ${call}`);
  task.assert_runnable();
  if (!m.sink || !task.mm) return e.run(m, task, args);
  const mm = task.mm;
  const pre = e.ranges(task, args, -1);
  const before = view(mm, pre);
  const r = e.run(m, task, args);
  const ret = r.ok ? (typeof r.value === "number" ? r.value : 0) : -1;
  const after = view(mm, e.ranges(task, args, ret));
  m.emit({
    type: "syscall",
    pid: task.pid,
    mm: mm.id,
    call,
    args,
    ret,
    errno: r.ok ? null : errnoName(r.errno),
    before,
    after,
  });
  return r;
}
