/**
 * exit(2)/exit_group(2), the final mmput() and exit_mmap(), and wait4(2) (kernel/exit.c,
 * kernel/fork.c mmput, mm/mmap.c exit_mmap).
 */
import { ECHILD } from "../abi/errno.js";
import { FdTable } from "../fs/file.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import { vm_unacct_memory } from "../mm/accounting.js";
import { vma_fput } from "../mm/mmap.js";
import type { mm_struct } from "../mm/types.js";
import { VM_ACCOUNT } from "../mm/vm_flags.js";
import { zap_page_range } from "../mm/zap.js";
import type { task_struct } from "./task.js";

/** exit_mmap(): unmap everything when the last user of the mm is gone. */
export function exit_mmap(m: Machine, mm: mm_struct): void {
  mm.update_hiwater_rss();
  mm.update_hiwater_vm();
  let nr_accounted = 0;
  for (let v = mm.mm_mt.first(); v; v = mm.mm_mt.next(v)) {
    zap_page_range(m, mm, v, v.vm_start, v.vm_end, true);
    if (v.vm_flags & VM_ACCOUNT) nr_accounted += v.nr_pages;
    if (v.vm_file) {
      // vma_unlink()'s file half; the tree goes as a whole below.
      v.vm_file.f_count--;
      v.vm_file.inode.i_mmap.delete(v);
      vma_fput(m, v.vm_file);
    }
  }
  mm.drop_vmas();
  mm.pgd.freeRange(0, Number.MAX_SAFE_INTEGER);
  m.mms.delete(mm);
  vm_unacct_memory(m, nr_accounted);
  mm.total_vm = mm.locked_vm = mm.exec_vm = mm.stack_vm = mm.data_vm = mm.shared_vm = 0;
  mm.locked_vm_skew = 0;
}

/** mmput(): drop a user; the last one tears the address space down. */
export function mmput(m: Machine, mm: mm_struct, pid = 0): void {
  if (--mm.mm_users === 0) {
    exit_mmap(m, mm);
    mm.mm_count--;
  }
  m.sink?.({ type: "mm_release", pid, mm: mm.id, mm_users: mm.mm_users, mm_count: mm.mm_count });
}

/** mm_release(): a vfork parent waiting on this child runs again (at exit and at exec). */
export function mm_release_vfork(m: Machine, task: task_struct): void {
  if (task.vfork_parent !== null) {
    const p = m.tasks.get(task.vfork_parent);
    if (p && p.state === "vfork-waiting") p.state = "running";
    task.vfork_parent = null;
  }
}

/** exit_mm() + exit_files(): the task lets go of its address space and files. */
export function exit_mm(m: Machine, task: task_struct): void {
  const mm = task.mm;
  mm_release_vfork(m, task);
  if (mm) {
    task.mm = null;
    mmput(m, mm, task.pid);
  }
  // exit_files(): the task drops its table; the fds close with the table's last user.
  const files = task.files;
  task.files = new FdTable(files.max);
  if (--files.users > 0) return;
  for (const [fd, f] of [...files.entries()]) {
    f.f_count--;
    files.close(fd);
  }
}

function alive(t: task_struct | undefined): t is task_struct {
  return !!t && t.state !== "zombie" && t.state !== "dead";
}

/**
 * find_new_reaper(): who adopts the children of an exiting task: another live thread of its
 * group, else pid 1 (unless pid 1 itself is going), else nobody (pid 0).
 */
function find_new_reaper(m: Machine, task: task_struct): number {
  for (const t of m.tasks.values()) if (t.tgid === task.tgid && t !== task && alive(t)) return t.pid;
  const init = m.tasks.get(1);
  return alive(init) && init.tgid !== task.tgid ? 1 : 0;
}

/**
 * do_exit(): release memory and files, become a zombie until the parent reaps it. `code` is the
 * exit(2) status; `signo` a fatal signal instead (SIGKILL from kill or exit_group's teardown).
 * Children are reparented to another thread of the group, else to pid 1 (zombies are reaped at
 * once when nobody is left to do it). A thread other than the group leader is reaped at once
 * (its parent never sees it in wait4); when it is the group's last and the leader is already a
 * zombie, its status becomes the group's (observed: leader exit(5), then the last thread exit(7):
 * wait4 reports 7).
 */
export function do_exit(m: Machine, task: task_struct, code: number, signo = 0): void {
  const mmId = task.mm?.id ?? 0;
  exit_mm(m, task);
  // The wait status: exit code in bits 8..15, or the terminating signal in bits 0..6.
  task.exit_code = signo ? signo & 0x7f : (code & 0xff) << 8;
  task.state = "zombie";
  m.nr_zombies++;
  m.sink?.({
    type: "exit",
    pid: task.pid,
    mm: mmId,
    comm: task.comm,
    status: code,
    ...(signo ? { signal: signo } : {}),
  });
  let reaper = -1;
  for (const c of [...m.tasks.values()]) {
    if (c.ppid !== task.pid || c === task || c.tgid === task.tgid) continue;
    if (reaper < 0) reaper = find_new_reaper(m, task);
    if (reaper > 0) c.ppid = reaper;
    else if (c.state === "zombie") release_task(m, c);
    else c.ppid = 0;
  }
  if (task.tgid !== task.pid) {
    const leader = m.tasks.get(task.tgid);
    if (leader && leader.state === "zombie" && !has_live_threads(m, leader, task))
      leader.exit_code = task.exit_code;
    release_task(m, task);
    return;
  }
  // A task whose parent is gone (or is not waiting for it) with no parent left is reaped at once.
  const parent = m.tasks.get(task.ppid);
  if (!parent || parent.state === "zombie" || parent.state === "dead") release_task(m, task);
}

export const SIGKILL = 9;

/**
 * do_group_exit(): exit_group(2), or a fatal signal (kill with SIGKILL): every thread of the
 * caller's thread group exits, the other threads first, then the leader, which carries the status.
 */
export function do_group_exit(m: Machine, task: task_struct, code: number, signo = 0): void {
  const tgid = task.tgid;
  for (const t of [...m.tasks.values()]) {
    if (t.tgid === tgid && t.pid !== tgid && t.state !== "zombie" && t.state !== "dead")
      do_exit(m, t, code, signo);
  }
  const leader = m.tasks.get(tgid);
  if (leader && leader.state !== "zombie" && leader.state !== "dead") do_exit(m, leader, code, signo);
}

/** Does the leader's group still have a thread (other than `except`) that has not been reaped? */
function has_live_threads(m: Machine, leader: task_struct, except?: task_struct): boolean {
  for (const t of m.tasks.values())
    if (t.tgid === leader.pid && t !== leader && t !== except && t.state !== "dead") return true;
  return false;
}

export function release_task(m: Machine, task: task_struct): void {
  if (task.state === "zombie") m.nr_zombies--;
  task.state = "dead";
  m.tasks.delete(task.pid);
}

/**
 * wait4(2): reap a zombie child (pid -1: any) of the caller's thread group (a thread waits for the
 * children of every thread of its process). Returns [pid, status]; ECHILD when there is no child.
 */
export function do_wait4(
  m: Machine,
  parent: task_struct,
  pid: number,
): SysResult<{ pid: number; status: number }> {
  let any = false;
  for (const c of m.tasks.values()) {
    if (c.tgid !== c.pid || c.tgid === parent.tgid) continue;
    const p = m.tasks.get(c.ppid);
    if (!p || p.tgid !== parent.tgid) continue;
    if (pid !== -1 && c.pid !== pid) continue;
    any = true;
    // A group leader is reaped only once the rest of its thread group is gone.
    if (c.state === "zombie" && !has_live_threads(m, c)) {
      release_task(m, c);
      return ok({ pid: c.pid, status: c.exit_code ?? 0 });
    }
  }
  // No WNOHANG blocking in a synchronous engine: a child still running is reported as ECHILD-free 0.
  return any ? ok({ pid: 0, status: 0 }) : err(ECHILD);
}
