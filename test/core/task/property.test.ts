/**
 * Property-based sequences over many tasks: fork, clone(CLONE_VM), threads, vfork, execve, exit,
 * exit_group and wait4 mixed with mmap (private and shared anonymous memory, shared and private
 * file mappings), munmap, mprotect, MADV_DONTNEED, pwrite, and loads and stores, on a 16-page
 * window. Next to the machine runs a byte-level model of what Linux guarantees each task reads:
 *
 *   - private anonymous pages are the mm's own (zero until written; copied by fork);
 *   - shared anonymous pages belong to one object every forked copy shares;
 *   - shared file pages are the file's contents (pwrite changes them for every mapper);
 *   - private file pages read the file until the mm writes them, then hold a private copy (fork
 *     copies a copy, shares an uncopied page); MADV_DONTNEED drops the copy;
 *   - CLONE_VM tasks share one model; execve gives the task an empty window, keeps the others';
 *   - accesses stop at the first page that faults: unmapped (SEGV_MAPERR), write to read-only
 *     (SEGV_ACCERR), file page past end of file (BUS_ADRERR).
 *
 * Properties, after every step: no exception but the documented TaskBlockedError for calls to a
 * blocked vfork parent; validate_machine() (frames, refcounts, mapcounts, RSS, page tables, page
 * caches, Committed_AS, mm_users per task, LRU lists, swap counts and swap cache); every read
 * returns the model's bytes and signal. At the end every task reads its whole window against the
 * model, then everything exits and only page-cache frames remain (no swap slot in use). A second
 * run of the same sequence must give the same trace.
 *
 * Under memory pressure (machines of 512 and 640 KiB, with and without swap) the same model holds for every
 * task the OOM killer did not kill: whatever was swapped out, dropped from the page cache, or
 * reclaimed reads back as written. A call that ran out of memory is checked for what it did
 * before (an access up to where it stopped, a short pwrite); killed tasks leave the model.
 * MMSIM_PROP_SCALE / MMSIM_PROP_SEED as for test/core/mm/property.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENOMEM } from "../../../src/core/abi/errno.js";
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { sys_pwrite } from "../../../src/core/fs/read_write.js";
import { Machine } from "../../../src/core/machine.js";
import { access_vm } from "../../../src/core/mm/access.js";
import { add_to_page_cache } from "../../../src/core/mm/fault.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mmap, sys_munmap } from "../../../src/core/mm/mmap.js";
import { sys_mprotect } from "../../../src/core/mm/mprotect.js";
import { validate_machine } from "../../../src/core/mm/validate.js";
import type { KernelProfile } from "../../../src/core/profile.js";
import { do_execve } from "../../../src/core/task/exec.js";
import { do_exit, do_group_exit, do_wait4 } from "../../../src/core/task/exit.js";
import { CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM, do_fork } from "../../../src/core/task/fork.js";
import { TaskBlockedError, type task_struct } from "../../../src/core/task/task.js";
import { HOST_PROFILE, PG, W } from "../helpers.js";

/** Pages in the window. */
const WP = 16;
/** The files: f0 8 pages (fd 3), f1 3 pages (fd 4), both opened O_RDWR by the first task. */
const FILES = [
  { path: "/f0", pages: 8 },
  { path: "/f1", pages: 3 },
];

// ---------------------------------------------------------------------------------------------
// The model

class FileModel {
  readonly pages: Uint8Array[] = [];
  constructor(pages: number) {
    for (let i = 0; i < pages; i++) this.pages.push(new Uint8Array(PG));
  }
}

type Backing =
  | { k: "anon"; b: Uint8Array }
  | { k: "shanon"; b: Uint8Array }
  | { k: "file"; f: FileModel; index: number; shared: boolean; copy: Uint8Array | null };

interface PageModel {
  back: Backing;
  writable: boolean;
}

/** What one mm's window holds, page by page. */
class MmModel {
  readonly pages: (PageModel | undefined)[] = new Array(WP);

  /** fork: private bytes copied, shared ones (and uncopied file pages) referenced. */
  fork(): MmModel {
    const c = new MmModel();
    this.pages.forEach((p, i) => {
      if (!p) return;
      const b = p.back;
      const back: Backing =
        b.k === "anon"
          ? { k: "anon", b: b.b.slice() }
          : b.k === "shanon"
            ? b
            : { ...b, copy: b.copy ? b.copy.slice() : null };
      c.pages[i] = { back, writable: p.writable };
    });
    return c;
  }
}

type Sig = "SEGV_MAPERR" | "SEGV_ACCERR" | "BUS_ADRERR";

/** The bytes a read of page i sees, or the signal. */
function peek(mm: MmModel, i: number): Uint8Array | Sig {
  const p = mm.pages[i];
  if (!p) return "SEGV_MAPERR";
  const b = p.back;
  if (b.k !== "file") return b.b;
  if (b.copy) return b.copy;
  return b.index < b.f.pages.length ? b.f.pages[b.index]! : "BUS_ADRERR";
}

/** The bytes a write to page i changes, or the signal (a private file page is copied first). */
function poke(mm: MmModel, i: number): Uint8Array | Sig {
  const p = mm.pages[i];
  if (!p) return "SEGV_MAPERR";
  if (!p.writable) return "SEGV_ACCERR";
  const b = p.back;
  if (b.k !== "file") return b.b;
  if (b.copy) return b.copy;
  if (b.index >= b.f.pages.length) return "BUS_ADRERR";
  if (b.shared) return b.f.pages[b.index]!;
  b.copy = b.f.pages[b.index]!.slice();
  return b.copy;
}

// ---------------------------------------------------------------------------------------------
// The operations

type Op =
  | { k: "mmap"; t: number; page: number; n: number; kind: number; off: number }
  | { k: "munmap"; t: number; page: number; n: number }
  | { k: "mprotect"; t: number; page: number; n: number; ro: boolean }
  | { k: "dontneed"; t: number; page: number; n: number }
  | { k: "write"; t: number; page: number; off: number; len: number; byte: number }
  | { k: "read"; t: number; page: number; off: number; len: number }
  | { k: "pwrite"; t: number; file: number; page: number; pages: number; byte: number }
  | { k: "fork" | "clone" | "thread" | "vfork" | "exec" | "exit" | "exit_group" | "wait"; t: number };

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const task = fc.nat(7);
const page = fc.integer({ min: 0, max: WP - 1 });
const pages = fc.integer({ min: 1, max: 6 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  w(
    14,
    fc.record({
      k: fc.constant("mmap" as const),
      t: task,
      page,
      n: pages,
      kind: fc.integer({ min: 0, max: 4 }),
      off: fc.integer({ min: 0, max: 4 }),
    }),
  ),
  w(5, fc.record({ k: fc.constant("munmap" as const), t: task, page, n: pages })),
  w(5, fc.record({ k: fc.constant("mprotect" as const), t: task, page, n: pages, ro: fc.boolean() })),
  w(4, fc.record({ k: fc.constant("dontneed" as const), t: task, page, n: pages })),
  w(
    25,
    fc.record({
      k: fc.constant("write" as const),
      t: task,
      page,
      off: fc.integer({ min: 0, max: PG - 1 }),
      len: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(PG, 2 * PG + 7)),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
  ),
  w(
    20,
    fc.record({
      k: fc.constant("read" as const),
      t: task,
      page,
      off: fc.integer({ min: 0, max: PG - 1 }),
      len: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(PG, 3 * PG)),
    }),
  ),
  w(
    4,
    fc.record({
      k: fc.constant("pwrite" as const),
      t: task,
      file: fc.integer({ min: 0, max: 1 }),
      page: fc.integer({ min: 0, max: 9 }),
      pages: fc.integer({ min: 1, max: 2 }),
      byte: fc.integer({ min: 1, max: 255 }),
    }),
  ),
  w(4, fc.record({ k: fc.constant("fork" as const), t: task })),
  w(2, fc.record({ k: fc.constant("clone" as const), t: task })),
  w(2, fc.record({ k: fc.constant("thread" as const), t: task })),
  w(1, fc.record({ k: fc.constant("vfork" as const), t: task })),
  w(2, fc.record({ k: fc.constant("exec" as const), t: task })),
  w(3, fc.record({ k: fc.constant("exit" as const), t: task })),
  w(1, fc.record({ k: fc.constant("exit_group" as const), t: task })),
  w(2, fc.record({ k: fc.constant("wait" as const), t: task })),
);

// ---------------------------------------------------------------------------------------------
// The world: the machine, its tasks and the model

class PropertyFailure extends Error {}

interface World {
  m: Machine;
  /** Tasks that have not exited, in creation order, with the model of their mm. */
  live: task_struct[];
  model: Map<task_struct, MmModel>;
  files: FileModel[];
  trace: string[];
}

function setup(profile: Partial<KernelProfile>): World {
  const m = new Machine({ seed: 1, profile: { ...HOST_PROFILE, ...profile } });
  const t = m.spawnEmpty({ comm: "p" });
  const files = FILES.map((f) => {
    const inode = m.fs.create(f.path, f.pages * PG);
    for (let i = 0; i < f.pages; i++) add_to_page_cache(m, inode, i);
    const r = sys_open(m, t, f.path, O_RDWR);
    if (!r.ok) throw new Error("open");
    return new FileModel(f.pages);
  });
  return { m, live: [t], model: new Map([[t, new MmModel()]]), files, trace: [] };
}

function fail(wd: World, msg: string): never {
  throw new PropertyFailure(`${msg}\nsequence:\n  ${wd.trace.join("\n  ")}`);
}

const hex = (x: number) => `0x${x.toString(16)}`;

function pattern(byte: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (byte + i) & 0xff;
  return b;
}

/** Drop tasks that exited (or were reaped) from the world. */
function prune(wd: World): void {
  wd.live = wd.live.filter((t) => t.state === "running" || t.state === "vfork-waiting");
  for (const t of [...wd.model.keys()]) if (!wd.live.includes(t)) wd.model.delete(t);
}

/**
 * An access by task t, checked against the model; the model is updated for writes. An access the
 * OOM killer stopped did what it did up to there (a write to shared memory stays visible to the
 * tasks that survive).
 */
function access(wd: World, t: task_struct, addr: number, len: number, write: boolean, byte: number): string {
  const mm = wd.model.get(t)!;
  const data = pattern(byte, len);
  const r = access_vm(wd.m, t, addr, len, write ? "write" : "read", write ? data : undefined);
  // The model: page by page until the first fault (or until where memory ran out).
  const limit = r.oom ? r.done : len;
  let done = 0;
  let sig: { code: Sig; addr: number } | null = null;
  const expect = new Uint8Array(write ? 0 : len);
  while (done < limit) {
    const a = addr + done;
    const i = Math.floor((a - W) / PG);
    const off = (a - W) % PG;
    const n = Math.min(PG - off, limit - done);
    const target = i < 0 || i >= WP ? "SEGV_MAPERR" : write ? poke(mm, i) : peek(mm, i);
    if (typeof target === "string") {
      sig = { code: target, addr: a };
      break;
    }
    if (write) target.set(data.subarray(done, done + n), off);
    else expect.set(target.subarray(off, off + n), done);
    done += n;
  }
  const got = r.signal ? `${r.signal.code} ${hex(r.signal.addr)}` : "ok";
  const want = sig ? `${sig.code} ${hex(sig.addr)}` : "ok";
  if (got !== want || r.done !== done)
    fail(wd, `access ${hex(addr)}+${len}: ${got} after ${r.done}, model ${want} after ${done}`);
  if (!write) {
    for (let k = 0; k < done; k++) {
      if (r.data[k] !== expect[k])
        fail(wd, `read ${hex(addr)}+${len}: byte ${k} is ${r.data[k]}, model says ${expect[k]}`);
    }
  }
  if (r.oom === "killed" && t.state === "running") fail(wd, `task ${t.pid} reported killed but runs`);
  return r.oom ? `oom ${r.oom} after ${r.done}` : "checked";
}

/** A machine small enough that calls may run out of memory. */
const pressure = (m: Machine) => m.totalram_pages <= 1024;

/** Run one op; returns a line for the trace. */
function step(wd: World, op: Op): string {
  const { m } = wd;
  if (wd.live.length === 0) return `${JSON.stringify(op)} = skipped (every task was killed)`;
  const t = wd.live[op.t % wd.live.length]!;
  const mm = wd.model.get(t)!;
  const at = (p: number) => W + p * PG;
  const line = `${t.pid}: ${JSON.stringify(op)}`;
  if (t.state === "vfork-waiting" && op.k !== "wait") {
    // A blocked vfork parent runs nothing: every call is refused.
    let threw = false;
    try {
      access_vm(m, t, W, 1, "read");
    } catch (e) {
      threw = e instanceof TaskBlockedError;
    }
    if (!threw) fail(wd, `task ${t.pid} blocked in vfork was not refused`);
    return `${line} = blocked`;
  }
  switch (op.k) {
    case "mmap": {
      const shared = op.kind === 1 || op.kind === 2;
      const fileIdx = op.kind >= 2 ? (op.kind === 4 ? 1 : 0) : -1;
      const flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED | (fileIdx < 0 ? MAP_ANONYMOUS : 0);
      const n = Math.min(op.n, WP - op.page);
      const r = sys_mmap(
        m,
        t,
        at(op.page),
        n * PG,
        PROT_READ | PROT_WRITE,
        flags,
        fileIdx < 0 ? -1 : 3 + fileIdx,
        op.off * PG,
      );
      if (!r.ok) fail(wd, `mmap failed: ${r.errno}`);
      const obj = op.kind === 1 ? new Uint8Array(n * PG) : null;
      for (let i = 0; i < n; i++) {
        const back: Backing =
          op.kind === 0
            ? { k: "anon", b: new Uint8Array(PG) }
            : op.kind === 1
              ? { k: "shanon", b: obj!.subarray(i * PG, (i + 1) * PG) }
              : { k: "file", f: wd.files[fileIdx]!, index: op.off + i, shared, copy: null };
        mm.pages[op.page + i] = { back, writable: true };
      }
      return `${line} = ok`;
    }
    case "munmap": {
      const n = Math.min(op.n, WP - op.page);
      const r = sys_munmap(m, t, at(op.page), n * PG);
      if (!r.ok) fail(wd, `munmap failed: ${r.errno}`);
      for (let i = 0; i < n; i++) mm.pages[op.page + i] = undefined;
      return `${line} = ok`;
    }
    case "mprotect": {
      const n = Math.min(op.n, WP - op.page);
      const r = sys_mprotect(m, t, at(op.page), n * PG, op.ro ? PROT_READ : PROT_READ | PROT_WRITE);
      // Applied VMA by VMA up to the first hole (then ENOMEM).
      let i = 0;
      for (; i < n && mm.pages[op.page + i]; i++) mm.pages[op.page + i]!.writable = !op.ro;
      if (r.ok !== (i === n)) fail(wd, `mprotect ${r.ok ? "succeeded" : "failed"}, model hole at ${i}`);
      return `${line} = ${r.ok ? "ok" : r.errno}`;
    }
    case "dontneed": {
      const n = Math.min(op.n, WP - op.page);
      const r = sys_madvise(m, t, at(op.page), n * PG, MADV_DONTNEED);
      let hole = false;
      for (let i = 0; i < n; i++) {
        const p = mm.pages[op.page + i];
        if (!p) hole = true;
        else if (p.back.k === "anon") p.back.b.fill(0);
        else if (p.back.k === "file" && !p.back.shared) p.back.copy = null;
      }
      if (r.ok === hole) fail(wd, `madvise(DONTNEED) ${r.ok ? "succeeded over a hole" : "failed"}`);
      return `${line} = ${r.ok ? "ok" : r.errno}`;
    }
    case "write":
    case "read":
      return `${line} = ${access(wd, t, at(op.page) + op.off, op.len, op.k === "write", op.k === "write" ? op.byte : 0)}`;
    case "pwrite": {
      const f = wd.files[op.file]!;
      const data = pattern(op.byte, op.pages * PG);
      const r = sys_pwrite(m, t, 3 + op.file, data, op.page * PG);
      // Out of memory: nothing (ENOMEM) or a short write.
      if (!r.ok && r.errno !== ENOMEM) fail(wd, `pwrite failed: ${r.errno}`);
      const n = r.ok ? r.value : 0;
      if (n < data.length && m.profile.ramBytes > 64 * 2 ** 20)
        fail(wd, `short pwrite ${n} without pressure`);
      const last = op.page + Math.ceil(n / PG);
      while (f.pages.length < last) f.pages.push(new Uint8Array(PG));
      for (let k = 0; k < n; k += PG) f.pages[op.page + k / PG]!.set(data.subarray(k, Math.min(n, k + PG)));
      return `${line} = ${n}`;
    }
    case "fork":
    case "clone":
    case "thread":
    case "vfork": {
      if (wd.live.length >= 8) return `${line} = skipped (8 tasks)`;
      const flags = {
        fork: 0,
        clone: CLONE_VM,
        thread: CLONE_VM | CLONE_SIGHAND | CLONE_THREAD,
        vfork: CLONE_VM | CLONE_VFORK,
      }[op.k];
      const r = do_fork(m, t, flags);
      // Out of memory for the child's kernel stack and page tables (the parent may be the victim).
      if (!r.ok && r.errno === ENOMEM && pressure(m)) return `${line} = ENOMEM`;
      if (!r.ok) fail(wd, `fork failed: ${r.errno}`);
      wd.live.push(r.value);
      wd.model.set(r.value, flags & CLONE_VM ? mm : mm.fork());
      return `${line} = ${r.value.pid}`;
    }
    case "exec": {
      const r = do_execve(m, t, {});
      // Out of memory part of the way (past the old mm: the task, if it survived, has a new one).
      if (!r.ok && !(r.errno === ENOMEM && pressure(m))) fail(wd, `execve failed: ${r.errno}`);
      // de_thread: the other threads are gone; the window is empty in the new mm.
      for (const o of wd.live) if (o !== t && o.tgid === t.tgid) wd.model.delete(o);
      wd.model.set(t, new MmModel());
      prune(wd);
      return `${line} = ${r.ok ? "ok" : "ENOMEM"}`;
    }
    case "exit":
    case "exit_group": {
      // Someone must be left to run: an exit (or exit_group) that would end every running task is skipped.
      const survivors = wd.live.filter(
        (x) => x.state === "running" && x !== t && (op.k === "exit" || x.tgid !== t.tgid),
      );
      if (survivors.length === 0) return `${line} = skipped (last task)`;
      if (op.k === "exit") do_exit(m, t, op.t);
      else do_group_exit(m, t, op.t);
      prune(wd);
      return `${line} = ok`;
    }
    case "wait": {
      const r = do_wait4(m, t, -1);
      return `${line} = ${r.ok ? r.value.pid : r.errno}`;
    }
  }
}

/** The whole window of every runnable task against the model; then everything exits. */
function finish(wd: World): void {
  for (const t of [...wd.live]) {
    // Reading back swapped pages allocates: the OOM killer may take tasks here too.
    for (let i = 0; i < WP && t.state === "running"; i++) access(wd, t, W + i * PG, PG, false, 0);
    prune(wd);
  }
  validate_machine(wd.m);
  for (const t of [...wd.m.tasks.values()])
    if (t.state === "running" || t.state === "vfork-waiting") do_exit(wd.m, t, 0);
  validate_machine(wd.m);
  let cached = 0;
  for (const ino of wd.m.fs.files()) cached += ino.i_pages.size;
  if (wd.m.frames.nr_used !== cached)
    fail(wd, `after every exit: ${wd.m.frames.nr_used} frames in use, ${cached} in page caches`);
  if (wd.m.swap.inuse_pages !== 0) fail(wd, `after every exit: ${wd.m.swap.inuse_pages} swap slots in use`);
  if (wd.m.vm_committed_as !== wd.m.vm_committed_unaccounted)
    fail(wd, `Committed_AS ${wd.m.vm_committed_as} left`);
}

/** What the runs of a check() did, to show that pressure was there (a test that cannot fail proves nothing). */
const seen = { pswpout: 0, pswpin: 0, pgsteal_file: 0, pglazyfreed: 0, oom_kill: 0, refaults: 0 };

function run(profile: Partial<KernelProfile>, ops: Op[]): string[] {
  const wd = setup(profile);
  for (const op of ops) {
    let line: string;
    try {
      line = step(wd, op);
      // Tasks the OOM killer took (any step that allocates may have killed anyone) leave the model.
      prune(wd);
      validate_machine(wd.m);
    } catch (e) {
      if (e instanceof PropertyFailure) throw e;
      fail(wd, `${JSON.stringify(op)} threw: ${e instanceof Error ? e.stack : String(e)}`);
    }
    wd.trace.push(line);
  }
  const e = wd.m.vm_events;
  seen.pswpout += e.pswpout;
  seen.pswpin += e.pswpin;
  seen.pgsteal_file += e.pgsteal_file;
  seen.pglazyfreed += e.pglazyfreed;
  seen.oom_kill += e.oom_kill;
  seen.refaults += e.workingset_refault_anon + e.workingset_refault_file;
  finish(wd);
  return wd.trace;
}

const SEED = Number(process.env["MMSIM_PROP_SEED"] ?? 0);
const SCALE = Number(process.env["MMSIM_PROP_SCALE"] ?? 1);

function check(profile: Partial<KernelProfile>, seed: number, numRuns: number): typeof seen {
  for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k] = 0;
  fc.assert(
    fc.property(fc.noBias(fc.array(opArb, { maxLength: 250, size: "max" })), (ops) => {
      const a = run(profile, ops);
      const b = run(profile, ops);
      if (a.join("\n") !== b.join("\n")) throw new PropertyFailure("a replay of the sequence differs");
    }),
    { seed: seed + SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)), endOnFailure: false },
  );
  return { ...seen };
}

describe("tasks, lifecycle and memory contents against a byte model", () => {
  it("this host's profile (no zero page)", () => check({}, 101, 60), 60_000);
  it(
    "a stock profile (zero page, ASLR)",
    () => check({ zeroPage: true, randomizeVaSpace: 2 }, 202, 40),
    60_000,
  );
});

describe("under memory pressure: no byte of a task the OOM killer spared is lost", () => {
  const KiB = 1024;
  it("640 KiB of RAM, 1 MiB of swap: anonymous pages swap out and back", () => {
    const s = check({ ramBytes: 640 * KiB, swapBytes: 1024 * KiB }, 303, 40);
    expect(s.pswpout).toBeGreaterThan(0);
    expect(s.pswpin).toBeGreaterThan(0);
    expect(s.pgsteal_file).toBeGreaterThan(0);
  }, 120_000);
  it("512 KiB of RAM, 64 KiB of swap: swap fills, the OOM killer runs", () => {
    const s = check({ ramBytes: 512 * KiB, swapBytes: 64 * KiB }, 404, 40);
    expect(s.pswpin).toBeGreaterThan(0);
    expect(s.oom_kill).toBeGreaterThan(0);
  }, 120_000);
  it("512 KiB of RAM, no swap: page cache only, then the OOM killer", () => {
    const s = check({ ramBytes: 512 * KiB, swapBytes: 0 }, 505, 40);
    expect(s.pswpout).toBe(0);
    expect(s.pgsteal_file).toBeGreaterThan(0);
    expect(s.oom_kill).toBeGreaterThan(0);
  }, 120_000);
  it("the classic policies (fifo, lru, clock), 640 KiB of RAM, 1 MiB of swap", () => {
    for (const [policy, seed] of [
      ["fifo", 606],
      ["lru", 707],
      ["clock", 808],
    ] as const) {
      const s = check({ ramBytes: 640 * KiB, swapBytes: 1024 * KiB, replacementPolicy: policy }, seed, 15);
      expect(s.pswpin).toBeGreaterThan(0);
    }
  }, 120_000);
});
