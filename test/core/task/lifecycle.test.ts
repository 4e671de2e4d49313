/**
 * The task lifecycle in the kernel's terms (kernel/fork.c, fs/exec.c, kernel/exit.c): fork,
 * clone(CLONE_VM) processes and threads, vfork, execve (de_thread), exit, exit_group, SIGKILL and
 * wait4, with reparenting of orphans. Each step is followed by validate_machine(), which also
 * checks that mm_users equals the tasks using each mm and that exited tasks hold none.
 *
 * Wait statuses are as the kernel encodes them: exit code << 8, or the signal number. Group
 * statuses were printed on this machine's kernel (ge.c, ge2.c, ge3.c): leader exit(5) then
 * exit_group(6) -> 0x600; leader exit(5) then the last thread exit(7) -> 7; thread exit(7) then
 * leader exit(5) -> 5.
 */
import { describe, expect, it } from "vitest";
import { ECHILD } from "../../../src/core/abi/errno.js";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  O_RDONLY,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
} from "../../../src/core/abi/mman.js";
import { sys_close, sys_open } from "../../../src/core/fs/open.js";
import { Machine } from "../../../src/core/machine.js";
import { access_vm } from "../../../src/core/mm/access.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { validate_machine } from "../../../src/core/mm/validate.js";
import { do_syscall } from "../../../src/core/syscalls.js";
import { do_execve } from "../../../src/core/task/exec.js";
import { do_exit, do_group_exit, do_wait4, SIGKILL } from "../../../src/core/task/exit.js";
import {
  CLONE_FILES,
  CLONE_SIGHAND,
  CLONE_THREAD,
  CLONE_VFORK,
  CLONE_VM,
  do_fork,
} from "../../../src/core/task/fork.js";
import { TaskBlockedError, type task_struct } from "../../../src/core/task/task.js";
import { bytes, cachedFile, HOST_PROFILE, layout, load, PG, store, W } from "../helpers.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const THREAD = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;

function machine() {
  const m = new Machine({ seed: 1, profile: HOST_PROFILE });
  const init = m.spawnEmpty({ comm: "init" });
  const check = () => validate_machine(m);
  const fork = (t: task_struct, flags = 0) => {
    const r = do_fork(m, t, flags);
    if (!r.ok) throw new Error(`fork: errno ${r.errno}`);
    check();
    return r.value;
  };
  const put = (t: task_struct, addr: number, s: string) => {
    store(m, t, addr, s);
    check();
  };
  const get = (t: task_struct, addr: number, n: number) => {
    const s = load(m, t, addr, n);
    check();
    return s;
  };
  const wait = (t: task_struct, pid = -1) => {
    const r = do_wait4(m, t, pid);
    check();
    return r.ok ? r.value : { errno: r.errno };
  };
  return { m, init, check, fork, put, get, wait };
}

describe("fork", () => {
  it("a child with the next pid, its parent's pid, a copy of the address space and fd table", () => {
    const { m, init, fork } = machine();
    const p = fork(init);
    sys_mmap(m, p, W, 2 * PG, RW, ANON, -1, 0);
    cachedFile({ m }, "/f", PG);
    const fd = sys_open(m, p, "/f", O_RDWR);
    if (!fd.ok) throw new Error("open");
    const file = p.files.get(fd.value)!;
    expect(file.f_count).toBe(1);
    const c = fork(p);
    expect([p.pid, c.pid, c.ppid, c.tgid]).toEqual([2, 3, 2, 3]);
    expect(c.mm).not.toBe(p.mm);
    expect(layout(c.mm!)).toEqual(layout(p.mm!));
    expect(c.mm!.total_vm).toBe(p.mm!.total_vm);
    expect(c.files.get(fd.value)).toBe(file);
    expect(file.f_count).toBe(2);
  });
});

describe("clone(CLONE_VM): processes and threads sharing one mm", () => {
  it("a CLONE_VM process: its own pid and parent, the same mm; each sees the other's writes and mappings", () => {
    const { m, init, fork, put, get } = machine();
    const p = fork(init);
    sys_mmap(m, p, W, PG, RW, ANON, -1, 0);
    const c = fork(p, CLONE_VM);
    expect([c.tgid, c.ppid]).toEqual([c.pid, p.pid]);
    expect(c.mm).toBe(p.mm);
    expect(p.mm!.mm_users).toBe(2);
    put(c, W, "from child");
    expect(get(p, W, 10)).toBe("from child");
    sys_mmap(m, p, W + 4 * PG, PG, RW, ANON, -1, 0);
    put(c, W + 4 * PG, "new map");
    expect(get(p, W + 4 * PG, 7)).toBe("new map");
    do_exit(m, c, 0);
    expect(p.mm!.mm_users).toBe(1);
    expect(get(p, W, 10)).toBe("from child");
  });

  it("threads: the group's tgid and parent; a thread's exit is reaped by the kernel, not wait4", () => {
    const { m, init, fork, put, get, wait, check } = machine();
    const p = fork(init);
    sys_mmap(m, p, W, PG, RW, ANON, -1, 0);
    const t1 = fork(p, THREAD);
    const t2 = fork(t1, THREAD);
    expect([t1.tgid, t1.ppid, t2.tgid, t2.ppid]).toEqual([p.pid, init.pid, p.pid, init.pid]);
    expect(p.mm!.mm_users).toBe(3);
    put(t2, W + 8, "t2");
    put(t1, W, "t1");
    expect(get(p, W, 10)).toBe("t1......t2");
    do_exit(m, t2, 3);
    check();
    expect(m.tasks.has(t2.pid)).toBe(false);
    expect(p.mm!.mm_users).toBe(2);
    // The parent of the process sees nothing to reap: the process is alive.
    expect(wait(init, p.pid)).toEqual({ pid: 0, status: 0 });
  });

  it("CLONE_FILES: one fd table; a task leaving it closes nothing while another holds it; exec unshares it", () => {
    const { m, init, fork, check } = machine();
    m.fs.create("/f", PG);
    const p = fork(init);
    expect(sys_open(m, p, "/f", O_RDONLY)).toEqual({ ok: true, value: 3 });
    const file = p.files.get(3)!;
    // A thread shares the table (CLONE_FILES with CLONE_THREAD, as pthread_create does).
    const t = fork(p, THREAD | CLONE_FILES);
    expect(t.files).toBe(p.files);
    expect([p.files.users, file.f_count]).toEqual([2, 1]);
    // The leader exits alone (pthread_exit in main): the thread keeps fd 3 [obs].
    do_exit(m, p, 0);
    check();
    expect(t.files.get(3)).toBe(file);
    expect([t.files.users, file.f_count]).toEqual([1, 1]);
    // A CLONE_FILES process (not a thread) then execs: its table becomes its own copy.
    const q = fork(t, CLONE_FILES);
    expect(q.files).toBe(t.files);
    expect(do_execve(m, q, { image: "empty" }).ok).toBe(true);
    check();
    expect(q.files).not.toBe(t.files);
    expect([t.files.users, q.files.users, file.f_count]).toEqual([1, 1, 2]);
    expect(sys_close(q, 3)).toEqual({ ok: true, value: 0 });
    expect(t.files.get(3)).toBe(file);
    // The last user of a table closes its fds.
    do_exit(m, t, 0);
    check();
    expect(file.f_count).toBe(0);
  });

  it("a thread waits for the children of every thread of its process; a thread's orphans go to another thread", () => {
    const { m, init, fork, wait } = machine();
    const p = fork(init);
    const th = fork(p, THREAD);
    const c = fork(th); // a child of the thread
    expect(c.ppid).toBe(th.pid);
    do_exit(m, c, 4);
    // The leader reaps the thread's child.
    expect(wait(p, -1)).toEqual({ pid: c.pid, status: 4 << 8 });
    const c2 = fork(th);
    do_exit(m, th, 0);
    // The thread is gone: its child now belongs to the leader.
    expect(c2.ppid).toBe(p.pid);
    do_exit(m, c2, 5);
    expect(wait(p, c2.pid)).toEqual({ pid: c2.pid, status: 5 << 8 });
  });

  it("the group's wait status is its last thread's", () => {
    const { m, init, fork, wait } = machine();
    const a = fork(init);
    const at = fork(a, THREAD);
    do_exit(m, a, 5);
    expect(wait(init, a.pid)).toEqual({ pid: 0, status: 0 });
    do_exit(m, at, 7);
    expect(wait(init, a.pid)).toEqual({ pid: a.pid, status: 7 << 8 });
    const b = fork(init);
    const bt = fork(b, THREAD);
    do_exit(m, bt, 7);
    do_exit(m, b, 5);
    expect(wait(init, b.pid)).toEqual({ pid: b.pid, status: 5 << 8 });
  });
});

describe("vfork", () => {
  it("the parent is blocked, and refused, until the child exits; the child writes into the parent's memory", () => {
    const { m, init, fork, put, get, wait } = machine();
    const p = fork(init);
    sys_mmap(m, p, W, PG, RW, ANON, -1, 0);
    const c = fork(p, CLONE_VM | CLONE_VFORK);
    expect(p.state).toBe("vfork-waiting");
    expect(c.mm).toBe(p.mm);
    expect(() => access_vm(m, p, W, 1, "read")).toThrow(TaskBlockedError);
    expect(() => do_syscall(m, p, "munmap", { addr: W, length: PG })).toThrow(TaskBlockedError);
    expect(() => do_fork(m, p, 0)).toThrow(TaskBlockedError);
    expect(() => do_execve(m, p, {})).toThrow(TaskBlockedError);
    put(c, W, "vforked");
    do_exit(m, c, 0);
    expect(p.state).toBe("running");
    expect(p.mm!.mm_users).toBe(1);
    expect(get(p, W, 7)).toBe("vforked");
    expect(wait(p)).toEqual({ pid: c.pid, status: 0 });
  });

  it("the child's execve releases the parent; the child gets a new mm, the parent keeps its own", () => {
    const { m, init, fork, get, put } = machine();
    const p = fork(init);
    sys_mmap(m, p, W, PG, RW, ANON, -1, 0);
    put(p, W, "mine");
    const c = fork(p, CLONE_VM | CLONE_VFORK);
    const r = do_execve(m, c, { argv: ["child"] });
    expect(r.ok).toBe(true);
    expect(p.state).toBe("running");
    expect(c.mm).not.toBe(p.mm);
    expect(p.mm!.mm_users).toBe(1);
    // comm is the executed file's basename, not argv[0].
    expect(c.comm).toBe("prog");
    expect(get(p, W, 4)).toBe("mine");
  });
});

describe("execve", () => {
  it("a fresh mm; the old one goes with its last user; fds and fault counts stay", () => {
    const { m, init, fork, put } = machine();
    const p = fork(init);
    sys_mmap(m, p, W, 4 * PG, RW, ANON, -1, 0);
    put(p, W, "old");
    const flt = p.min_flt + p.maj_flt;
    const old = p.mm!;
    expect(do_execve(m, p, {}).ok).toBe(true);
    expect(p.mm).not.toBe(old);
    // exit_mmap ran: nothing mapped, nothing resident (validate_machine finds no leaked frame).
    expect(old.mm_users).toBe(0);
    expect(old.map_count).toBe(0);
    expect(old.get_mm_rss()).toBe(0);
    // The new image faulted in the stack page and the two bss tails (copies of file pages, read
    // from the image files into the page cache: major faults).
    expect(p.mm!.get_mm_rss()).toBe(3);
    expect(p.min_flt + p.maj_flt).toBe(flt + 3);
    expect(p.mm!.map_count).toBe(12);
  });

  it("a CLONE_VM sibling keeps the old mm when the other execs", () => {
    const { m, init, fork, put, get } = machine();
    const p = fork(init);
    sys_mmap(m, p, W, PG, RW, ANON, -1, 0);
    const c = fork(p, CLONE_VM);
    put(p, W, "kept");
    do_execve(m, c, {});
    expect(p.mm!.mm_users).toBe(1);
    expect(get(p, W, 4)).toBe("kept");
  });

  it("de_thread: exec kills the other threads; a non-leader thread takes over the leader's pid", () => {
    const { m, init, fork, check, wait } = machine();
    const p = fork(init);
    const t1 = fork(p, THREAD);
    const t2 = fork(p, THREAD);
    const child = fork(t2);
    const pid = p.pid;
    expect(do_execve(m, t2, { argv: ["new"] }).ok).toBe(true);
    check();
    expect(t2.pid).toBe(pid);
    expect(t2.tgid).toBe(pid);
    expect(t2.ppid).toBe(init.pid);
    expect(m.tasks.get(pid)).toBe(t2);
    expect(m.tasks.has(t1.pid)).toBe(false);
    expect([p.state, t1.state]).toEqual(["dead", "dead"]);
    expect(t2.mm!.mm_users).toBe(1);
    // The thread's child follows it to the process's pid.
    expect(child.ppid).toBe(pid);
    // Nothing for init to reap: the process lives on under its pid.
    expect(wait(init, pid)).toEqual({ pid: 0, status: 0 });
  });
});

describe("exit, exit_group, kill, wait4", () => {
  it("exit: a zombie without an mm until its parent reaps it; its pages and files are released", () => {
    const { m, init, fork, wait } = machine();
    const p = fork(init);
    sys_mmap(m, p, W, 2 * PG, RW, ANON, -1, 0);
    sys_mmap(m, p, W + 4 * PG, PG, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    access_vm(m, p, W, 2 * PG, "write", bytes("x"));
    access_vm(m, p, W + 4 * PG, 1, "write", bytes("y"));
    cachedFile({ m }, "/f", PG);
    const fd = sys_open(m, p, "/f", O_RDWR);
    const file = fd.ok ? p.files.get(fd.value)! : null;
    const used = m.frames.nr_used;
    do_exit(m, p, 42);
    expect(p.state).toBe("zombie");
    expect(p.mm).toBeNull();
    expect(file!.f_count).toBe(0);
    // Two anonymous pages and the shared memory object's page are gone.
    expect(m.frames.nr_used).toBe(used - 3);
    expect(wait(init)).toEqual({ pid: p.pid, status: 42 << 8 });
    expect(m.tasks.has(p.pid)).toBe(false);
    expect(wait(init)).toEqual({ errno: ECHILD });
  });

  it("wait4: a specific pid, 0 while the child runs, ECHILD for someone else's child", () => {
    const { m, init, fork, wait } = machine();
    const a = fork(init);
    const b = fork(init);
    const g = fork(a);
    expect(wait(init, b.pid)).toEqual({ pid: 0, status: 0 });
    expect(wait(init, g.pid)).toEqual({ errno: ECHILD });
    do_exit(m, b, 1);
    do_exit(m, a, 2);
    expect(wait(init, b.pid)).toEqual({ pid: b.pid, status: 1 << 8 });
    expect(wait(init)).toEqual({ pid: a.pid, status: 2 << 8 });
  });

  it("exit_group and SIGKILL take every thread down; the status is the signal for a kill", () => {
    const { m, init, fork, wait } = machine();
    const p = fork(init);
    fork(p, THREAD);
    fork(p, THREAD);
    do_group_exit(m, p, 3);
    expect([...m.tasks.values()].filter((t) => t.tgid === p.pid).map((t) => t.state)).toEqual(["zombie"]);
    expect(wait(init)).toEqual({ pid: p.pid, status: 3 << 8 });
    const q = fork(init);
    const qt = fork(q, THREAD);
    do_group_exit(m, qt, 0, SIGKILL);
    expect(wait(init)).toEqual({ pid: q.pid, status: SIGKILL });
  });

  it("orphans are reparented to pid 1, zombies included, and pid 1 reaps them", () => {
    const { m, init, fork, wait } = machine();
    const p = fork(init);
    const running = fork(p);
    const dead = fork(p);
    do_exit(m, dead, 9);
    do_exit(m, p, 0);
    expect([running.ppid, dead.ppid]).toEqual([init.pid, init.pid]);
    expect(wait(init, dead.pid)).toEqual({ pid: dead.pid, status: 9 << 8 });
    do_exit(m, running, 8);
    expect(wait(init)).toEqual({ pid: p.pid, status: 0 });
    expect(wait(init)).toEqual({ pid: running.pid, status: 8 << 8 });
  });

  it("with no pid 1 left, orphaned zombies are reaped at once and later orphans when they exit", () => {
    const { m, init, fork, check } = machine();
    const a = fork(init);
    const z = fork(init);
    do_exit(m, z, 0);
    do_exit(m, init, 0);
    check();
    // init's parent is nobody: it is released, and so is its zombie child.
    expect(m.tasks.has(init.pid)).toBe(false);
    expect(m.tasks.has(z.pid)).toBe(false);
    expect(a.ppid).toBe(0);
    do_exit(m, a, 0);
    expect(m.tasks.has(a.pid)).toBe(false);
  });
});
