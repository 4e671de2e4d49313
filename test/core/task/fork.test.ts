/**
 * fork/clone/exit in the kernel's terms: dup_mmap rules (DONTCOPY, WIPEONFORK, locks, hiwater),
 * copy-on-write contents, fork-child merge restrictions, CLONE_VM sharing, exit and wait4.
 */
import { describe, expect, it } from "vitest";
import { ECHILD, ENOMEM } from "../../../src/core/abi/errno.js";
import {
  MADV_DONTFORK,
  MADV_GUARD_INSTALL,
  MADV_POPULATE_WRITE,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  MAP_SHARED,
  O_RDWR,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import { sys_open } from "../../../src/core/fs/open.js";
import { Machine } from "../../../src/core/machine.js";
import { access_vm } from "../../../src/core/mm/access.js";
import { sys_madvise } from "../../../src/core/mm/madvise.js";
import { sys_mlock } from "../../../src/core/mm/mlock.js";
import { sys_mmap, sys_munmap } from "../../../src/core/mm/mmap.js";
import { sys_mprotect } from "../../../src/core/mm/mprotect.js";
import { validate_machine } from "../../../src/core/mm/validate.js";
import { do_exit, do_group_exit, do_wait4, SIGKILL } from "../../../src/core/task/exit.js";
import { CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM, do_fork } from "../../../src/core/task/fork.js";
import type { task_struct } from "../../../src/core/task/task.js";
import { HOST_PROFILE, layout, PG, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const FIX = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function setup() {
  const m = new Machine({ seed: 1, profile: HOST_PROFILE });
  const p = m.spawnEmpty({ caps: { CAP_IPC_LOCK: true } });
  const check = () => validate_machine(m);
  const fork = (t: task_struct, flags = 0) => {
    const r = do_fork(m, t, flags);
    if (!r.ok) throw new Error(`fork: ${r.errno}`);
    check();
    return r.value;
  };
  return { m, p, check, fork };
}

describe("fork: copy-on-write", () => {
  it("the child sees the parent's bytes until either side writes", () => {
    const { m, p, check, fork } = setup();
    sys_mmap(m, p, W, 2 * PG, RW, FIX, -1, 0);
    access_vm(m, p, W, 5, "write", bytes("hello"));
    const c = fork(p);
    expect(text(access_vm(m, c, W, 5, "read").data)).toBe("hello");
    // The child's first write copies the page (a minor fault); the parent keeps its bytes.
    const w = access_vm(m, c, W, 5, "write", bytes("child"));
    expect(w.minor).toBe(1);
    check();
    expect(text(access_vm(m, p, W, 5, "read").data)).toBe("hello");
    expect(text(access_vm(m, c, W, 5, "read").data)).toBe("child");
    // The parent's page is exclusive again: its write reuses it (a fault, no copy).
    const used = m.frames.nr_used;
    expect(access_vm(m, p, W, 5, "write", bytes("HELLO")).minor).toBe(1);
    expect(m.frames.nr_used).toBe(used);
    check();
  });

  it("shared mappings stay shared; fork copies no PTEs for VMAs without an anon_vma", () => {
    const { m, p, fork } = setup();
    sys_mmap(m, p, W, PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    access_vm(m, p, W, 3, "write", bytes("abc"));
    const c = fork(p);
    expect(c.mm!.get_mm_rss()).toBe(0);
    access_vm(m, c, W, 3, "write", bytes("xyz"));
    expect(text(access_vm(m, p, W, 3, "read").data)).toBe("xyz");
  });

  it("DONTCOPY VMAs are absent, WIPEONFORK ones empty, locks and def_flags dropped, hiwater reset", () => {
    const { m, p, fork } = setup();
    sys_mmap(m, p, W, 2 * PG, RW, FIX, -1, 0);
    sys_mmap(m, p, W + 4 * PG, 2 * PG, RW, FIX, -1, 0);
    sys_mmap(m, p, W + 8 * PG, 2 * PG, RW, FIX, -1, 0);
    sys_madvise(m, p, W, 2 * PG, MADV_DONTFORK);
    sys_madvise(m, p, W + 4 * PG, 2 * PG, MADV_WIPEONFORK);
    access_vm(m, p, W + 4 * PG, 2, "write", bytes("wf"));
    sys_mlock(m, p, W + 8 * PG, 2 * PG);
    const c = fork(p);
    expect(layout(c.mm!)).toEqual(["4-6 rw-p 4", "8-10 rw-p 8 a"]);
    expect(c.mm!.locked_vm).toBe(0);
    expect(c.mm!.total_vm).toBe(4);
    expect(text(access_vm(m, c, W + 4 * PG, 2, "read").data)).toBe("\0\0");
    expect(c.mm!.hiwater_vm).toBe(4);
  });

  it("F3: in the child a new mapping next to an inherited touched VMA does not merge", () => {
    const { m, p, fork } = setup();
    sys_mmap(m, p, W, 2 * PG, RW, FIX, -1, 0);
    sys_madvise(m, p, W, 2 * PG, MADV_POPULATE_WRITE);
    sys_mmap(m, p, W + 8 * PG, 2 * PG, RW, FIX, -1, 0);
    const c = fork(p);
    sys_mmap(m, c, W + 2 * PG, PG, RW, FIX, -1, 0);
    sys_mmap(m, c, W + 10 * PG, PG, RW, FIX, -1, 0);
    expect(layout(c.mm!)).toEqual(["0-2 rw-p 0 a", "2-3 rw-p 2", "8-11 rw-p 8"]);
    sys_mmap(m, p, W + 2 * PG, PG, RW, FIX, -1, 0);
    expect(layout(p.mm!)).toEqual(["0-3 rw-p 0 a", "8-10 rw-p 8"]);
  });
});

describe("fork: the child's VMA tree", () => {
  it("a large, mixed address space: the child's tree (built in one pass) is whole and keeps working", () => {
    const { m, p, check, fork } = setup();
    const mm = p.mm!;
    // 3 000 one-page VMAs that cannot merge (alternating prot, one-page holes), some touched, some
    // stack-like (their guard gap shapes the gaps), DONTFORK, WIPEONFORK and guard-marked ones.
    for (let i = 0; i < 3000; i++) {
      const a = W + 2 * i * PG;
      const grows = i % 97 === 50 ? MAP_GROWSDOWN : 0;
      const r = sys_mmap(m, p, a, PG, i & 1 ? PROT_READ : RW, FIX | grows, -1, 0);
      if (!r.ok) throw new Error(`mmap ${i}`);
      if (!(i & 1) && i % 7 === 0) access_vm(m, p, a, 1, "write", bytes("x"));
      if (i % 101 === 3) sys_madvise(m, p, a, PG, MADV_DONTFORK);
      if (i % 103 === 4) sys_madvise(m, p, a, PG, MADV_WIPEONFORK);
      if (i % 107 === 6) sys_madvise(m, p, a, PG, MADV_GUARD_INSTALL);
    }
    check();
    // The child's picture: no DONTFORK VMA, and WIPEONFORK ones without their anon_vma.
    const want = layout(mm)
      .map((l, i) => (i % 103 === 4 ? l.replace(/ a$/, "") : l))
      .filter((_, i) => i % 101 !== 3);
    const dontfork = new Set<number>();
    for (let i = 3; i < 3000; i += 101) dontfork.add(W + 2 * i * PG);
    const c = fork(p);
    const cm = c.mm!;
    expect(layout(cm)).toEqual(want);
    expect(cm.map_count).toBe(mm.map_count - dontfork.size);
    // Touched pages are shared copy-on-write, wiped ones are not copied.
    expect(text(access_vm(m, c, W + 2 * 14 * PG, 1, "read").data)).toBe("x");
    expect(text(access_vm(m, c, W + 2 * 210 * PG, 1, "read").data)).toBe("\0");
    expect(text(access_vm(m, p, W + 2 * 210 * PG, 1, "read").data)).toBe("x");
    // Gap searches: the parent's window has only one-page holes; the child's has three-page
    // ones where DONTFORK VMAs were (the lowest at page 6, the highest at page 5864).
    const hi = W + 6000 * PG;
    expect(mm.mm_mt.unmappedAreaTopdown(2 * PG, W, hi)).toBe(-1);
    expect(cm.mm_mt.unmappedAreaTopdown(2 * PG, W, hi)).toBe(W + 5864 * PG);
    expect(cm.mm_mt.unmappedArea(2 * PG, W, hi)).toBe(W + 5 * PG);
    expect(cm.mm_mt.unmappedArea(4 * PG, W, hi)).toBe(-1);
    // The child's tree splits, merges and shrinks like any other.
    for (let i = 0; i < 3000; i += 13) {
      const a = W + 2 * i * PG;
      if (dontfork.has(a)) continue;
      sys_mprotect(m, c, a, PG, PROT_NONE);
      if (i % 3 === 0) sys_munmap(m, c, a, PG);
    }
    sys_mmap(m, c, W + PG, 3 * PG, RW, FIX, -1, 0);
    check();
    do_exit(m, c, 0);
    do_wait4(m, p, c.pid);
    check();
    expect(layout(mm).length).toBe(3000);
  });
});

describe("fork: out of commit charge", () => {
  it("a fork that fails part-way (ENOMEM) leaves nothing of the child behind", () => {
    // Strict overcommit with room for the parent's 610 accounted pages and little more: the child
    // copies the touched 10-page VMA and a shared file mapping, then fails on the 600-page one.
    const m = new Machine({
      seed: 1,
      profile: {
        ...HOST_PROFILE,
        overcommitMemory: 2,
        overcommitKbytes: 4096,
        adminReserveKbytes: 0,
        userReserveKbytes: 0,
      },
    });
    const p = m.spawnEmpty();
    m.fs.create("/f", 4 * PG);
    const fd = sys_open(m, p, "/f", O_RDWR);
    if (!fd.ok) throw new Error("open");
    sys_mmap(m, p, W, 10 * PG, RW, FIX, -1, 0);
    access_vm(m, p, W, 2, "write", bytes("hi"));
    sys_mmap(m, p, W + 20 * PG, 4 * PG, RW, MAP_SHARED | MAP_FIXED, fd.value, 0);
    access_vm(m, p, W + 20 * PG, 1, "write", bytes("f"));
    sys_mmap(m, p, W + 100 * PG, 600 * PG, RW, FIX, -1, 0);
    validate_machine(m);
    const committed = m.vm_committed_as;
    const inode = m.fs.lookup("/f")!;
    const mappers = inode.i_mmap.size;
    const r = do_fork(m, p, 0);
    expect(r.ok ? 0 : r.errno).toBe(ENOMEM);
    expect(m.tasks.size).toBe(1);
    // No page, file or commit references of the half-built child remain.
    validate_machine(m);
    expect(m.vm_committed_as).toBe(committed);
    expect(inode.i_mmap.size).toBe(mappers);
    // The parent's page went copy-on-write for the copy and is its own again: a write reuses it.
    const used = m.frames.nr_used;
    expect(access_vm(m, p, W, 2, "write", bytes("HI")).minor).toBe(1);
    expect(m.frames.nr_used).toBe(used);
    expect(text(access_vm(m, p, W, 2, "read").data)).toBe("HI");
    validate_machine(m);
  });
});

describe("clone, exit, wait4", () => {
  it("CLONE_VM shares the mm: mm_users counts, mappings are seen by both", () => {
    const { m, p, fork } = setup();
    const t = fork(p, CLONE_VM);
    expect(t.mm).toBe(p.mm);
    expect(p.mm!.mm_users).toBe(2);
    sys_mmap(m, t, W, PG, RW, FIX, -1, 0);
    expect(p.mm!.map_count).toBe(1);
    do_exit(m, t, 0);
    expect(p.mm!.mm_users).toBe(1);
    expect(p.mm!.map_count).toBe(1);
  });

  it("vfork blocks the parent until the child exits; the last mmput frees everything", () => {
    const { m, p, check, fork } = setup();
    sys_mmap(m, p, W, 4 * PG, RW, FIX, -1, 0);
    const c0 = fork(p);
    access_vm(m, c0, W, 4 * PG, "write", bytes("x"));
    const v = fork(p, CLONE_VM | CLONE_VFORK);
    expect(p.state).toBe("vfork-waiting");
    do_exit(m, v, 3);
    expect(p.state).toBe("running");
    const r = do_wait4(m, p, v.pid);
    expect(r.ok && r.value).toEqual({ pid: v.pid, status: 3 << 8 });
    do_exit(m, c0, 0);
    expect(c0.mm).toBeNull();
    check();
    expect(m.frames.nr_used).toBe(0);
    expect(do_wait4(m, p, -1).ok).toBe(true);
    const none = do_wait4(m, p, -1);
    expect(none.ok ? "ok" : none.errno).toBe(ECHILD);
  });

  it("exit_group takes every thread down; the leader is reaped only after the last thread", () => {
    const { m, p, check, fork } = setup();
    const c = fork(p);
    sys_mmap(m, c, W, 4 * PG, RW, FIX, -1, 0);
    const th = fork(c, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
    expect(th.tgid).toBe(c.pid);
    expect(c.mm!.mm_users).toBe(2);
    // The leader exits alone: a zombie wait4 cannot reap while its thread runs on the shared mm.
    do_exit(m, c, 5);
    expect(c.state).toBe("zombie");
    expect(th.mm!.map_count).toBe(1);
    const early = do_wait4(m, p, c.pid);
    expect(early.ok && early.value).toEqual({ pid: 0, status: 0 });
    do_group_exit(m, th, 6);
    expect(m.tasks.has(th.pid)).toBe(false); // threads are reaped by the kernel, not by wait4
    const r = do_wait4(m, p, c.pid);
    // The group's status is its last thread's (observed: leader exit(5), then exit_group(6) in
    // another thread: wait4 gives 0x600).
    expect(r.ok && r.value).toEqual({ pid: c.pid, status: 6 << 8 });
    check();
    expect(m.frames.nr_used).toBe(0);
  });

  it("SIGKILL of a thread group: wait4 reports the signal in the low bits", () => {
    const { m, p, fork } = setup();
    const c = fork(p);
    const th = fork(c, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
    do_group_exit(m, th, 0, SIGKILL);
    expect(th.state).toBe("dead");
    expect(c.state).toBe("zombie");
    expect(c.mm).toBeNull();
    const r = do_wait4(m, p, -1);
    expect(r.ok && r.value).toEqual({ pid: c.pid, status: SIGKILL });
  });
});
