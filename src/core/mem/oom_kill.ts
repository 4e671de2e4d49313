/**
 * The OOM killer (mm/oom_kill.c): when reclaim cannot make room, the process with the highest
 * badness is killed (SIGKILL to its thread group and to every other process sharing its mm, as
 * oom_kill_process() does), and its memory is freed at once (the oom reaper's work).
 *
 * Badness (oom_badness) is what killing would free: resident pages, swap entries and page-table
 * pages, plus oom_score_adj thousandths of all memory (RAM + swap). oom_score_adj -1000, a task
 * without an mm, and a vfork child still sharing its parent's mm are never chosen. Processes are
 * considered in creation order and a later one wins a tie. Unlike Linux, pid 1 is not exempt:
 * a simulated machine's first task is an ordinary program, not init.
 */
import { EINVAL } from "../abi/errno.js";
import { PAGE_SIZE } from "../abi/mman.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS, type mm_struct } from "../mm/types.js";
import { do_group_exit, SIGKILL } from "../task/exit.js";
import type { task_struct } from "../task/task.js";

export const OOM_SCORE_ADJ_MIN = -1000;
export const OOM_SCORE_ADJ_MAX = 1000;

/** find_lock_task_mm(): the process's mm, through any of its threads that still has one. */
function find_task_mm(m: Machine, p: task_struct): mm_struct | null {
  if (p.mm) return p.mm;
  for (const t of m.tasks.values()) if (t.tgid === p.tgid && t.mm) return t.mm;
  return null;
}

/** in_vfork(): a vfork child that still runs on its parent's mm. */
function in_vfork(m: Machine, p: task_struct): boolean {
  if (p.vfork_parent === null) return false;
  return m.tasks.get(p.vfork_parent)?.mm === p.mm;
}

/** The processes (thread group leaders) in creation order: for_each_process(). */
function processes(m: Machine): task_struct[] {
  return [...m.tasks.values()].filter((t) => t.pid === t.tgid).sort((a, b) => a.pid - b.pid);
}

/** oom_badness(): the process's badness, or null when it must not be killed. */
export function oom_badness(m: Machine, p: task_struct, totalpages: number): number | null {
  const mm = find_task_mm(m, p);
  if (!mm) return null;
  const adj = p.oom_score_adj;
  if (adj === OOM_SCORE_ADJ_MIN || in_vfork(m, p)) return null;
  const points = mm.get_mm_rss() + mm.get_mm_counter(MM_SWAPENTS) + mm.pgd.pgtables_bytes / PAGE_SIZE;
  return points + adj * Math.floor(totalpages / 1000);
}

/** oc->totalpages: all memory a process could use, RAM and swap. */
function oom_totalpages(m: Machine): number {
  return m.totalram_pages + m.total_swap_pages;
}

/** /proc/PID/oom_score: badness scaled to 0..1333 (0 for an unkillable task), as proc_oom_score. */
export function oom_score(m: Machine, p: task_struct): number {
  const leader = m.tasks.get(p.tgid) ?? p;
  const totalpages = oom_totalpages(m);
  const badness = oom_badness(m, leader, totalpages);
  if (badness === null) return 0;
  return Math.trunc(((1000 + Math.trunc((badness * 1000) / totalpages)) * 2) / 3);
}

/**
 * Write /proc/PID/oom_score_adj: the value of the whole thread group, and of the other processes
 * sharing its mm (__set_oom_adj). EINVAL outside -1000..1000.
 */
export function set_oom_score_adj(m: Machine, task: task_struct, value: number): SysResult<number> {
  if (!Number.isInteger(value) || value < OOM_SCORE_ADJ_MIN || value > OOM_SCORE_ADJ_MAX) return err(EINVAL);
  const mm = find_task_mm(m, task);
  for (const t of m.tasks.values()) {
    if (t.tgid === task.tgid) t.oom_score_adj = value;
    else if (mm && t.mm === mm && t.vfork_parent === null) t.oom_score_adj = value;
  }
  return ok(0);
}

/**
 * out_of_memory(): choose and kill a victim. Returns false when no process can be killed (Linux
 * would panic: "System is deadlocked on memory"). `trigger` is the address space whose
 * allocation failed.
 */
export function out_of_memory(m: Machine, trigger: mm_struct | null): boolean {
  const totalpages = oom_totalpages(m);
  let chosen: task_struct | null = null;
  let chosen_points = Number.NEGATIVE_INFINITY;
  for (const p of processes(m)) {
    const points = oom_badness(m, p, totalpages);
    if (points === null || points < chosen_points) continue;
    chosen = p;
    chosen_points = points;
  }
  if (!chosen) return false;
  oom_kill_process(m, chosen, chosen_points, trigger);
  return true;
}

/** oom_kill_process(): SIGKILL to the victim's thread group and every process sharing its mm. */
function oom_kill_process(m: Machine, victim: task_struct, points: number, trigger: mm_struct | null): void {
  const mm = find_task_mm(m, victim)!;
  const kb = (pages: number) => pages * (PAGE_SIZE / 1024);
  const fact = {
    total_vm: kb(mm.total_vm),
    anon_rss: kb(mm.get_mm_counter(MM_ANONPAGES)),
    file_rss: kb(mm.get_mm_counter(MM_FILEPAGES)),
    shmem_rss: kb(mm.get_mm_counter(MM_SHMEMPAGES)),
    swapents: kb(mm.get_mm_counter(MM_SWAPENTS)),
    pgtables: mm.pgd.pgtables_bytes / 1024,
  };
  const groups = [victim];
  for (const p of processes(m)) if (p.tgid !== victim.tgid && find_task_mm(m, p) === mm) groups.push(p);
  const killed: number[] = [];
  for (const g of groups)
    for (const t of m.tasks.values())
      if (t.tgid === g.tgid && t.state !== "zombie" && t.state !== "dead") {
        t.oom_victim = true;
        killed.push(t.pid);
      }
  m.vm_events.oom_kill++;
  for (const g of groups) do_group_exit(m, g, 0, SIGKILL);
  m.emit({
    type: "oom_kill",
    pid: victim.pid,
    mm: mm.id,
    comm: victim.comm,
    points,
    oom_score_adj: victim.oom_score_adj,
    ...fact,
    killed,
    trigger: trigger?.owner ?? 0,
  });
}
