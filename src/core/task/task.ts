/**
 * The task_struct fields the address-space calls consult: rlimits, capabilities, personality,
 * the fd table and fault counters. Lifecycle (fork, clone, execve, exit) lives in task/lifecycle.
 */
import type { FdTable } from "../fs/file.js";
import type { mm_struct } from "../mm/types.js";

/** RLIM_INFINITY. */
export const RLIM_INFINITY = Number.POSITIVE_INFINITY;

export interface Rlimits {
  /** RLIMIT_AS, bytes. */
  AS: number;
  /** RLIMIT_DATA, bytes (soft) and its hard limit (the Valgrind exception reads it). */
  DATA: number;
  DATA_max: number;
  /** RLIMIT_STACK, bytes. */
  STACK: number;
  /** RLIMIT_MEMLOCK, bytes. */
  MEMLOCK: number;
}

export const DEFAULT_RLIMITS: Readonly<Rlimits> = Object.freeze({
  AS: RLIM_INFINITY,
  DATA: RLIM_INFINITY,
  DATA_max: RLIM_INFINITY,
  STACK: 8 * 1024 * 1024,
  MEMLOCK: 8 * 1024 * 1024,
});

export interface Capabilities {
  CAP_IPC_LOCK: boolean;
  CAP_SYS_RAWIO: boolean;
  CAP_SYS_ADMIN: boolean;
}

export const NO_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  CAP_IPC_LOCK: false,
  CAP_SYS_RAWIO: false,
  CAP_SYS_ADMIN: false,
});

/** personality(2) bits that matter for memory. */
export const READ_IMPLIES_EXEC = 0x0400000;
export const ADDR_NO_RANDOMIZE = 0x0040000;
export const ADDR_COMPAT_LAYOUT = 0x0200000;

/** A call addressed to a task that cannot run (blocked in vfork, or exited). */
export class TaskBlockedError extends Error {
  override name = "TaskBlockedError";
}

/** TASK_COMM_LEN - 1: the longest comm, in bytes. */
export const COMM_MAX_BYTES = 15;

/**
 * __set_task_comm(): at most 15 bytes of UTF-8 (cut at a character boundary here, where the
 * kernel would cut a multi-byte character in two).
 */
export function comm_of(name: string): string {
  let out = "";
  let bytes = 0;
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > COMM_MAX_BYTES) break;
    out += ch;
  }
  return out;
}

/** A new task that cannot have its kernel stack: reclaim and the OOM killer found no room (ENOMEM). */
export class SpawnNoMemoryError extends Error {
  override name = "SpawnNoMemoryError";
}

export type TaskState = "running" | "vfork-waiting" | "zombie" | "dead";

export class task_struct {
  state: TaskState = "running";
  /** Minor and major faults taken by this task (also those taken on its behalf: populate, mlock). */
  min_flt = 0;
  maj_flt = 0;
  personality = 0;
  exit_code: number | null = null;
  /** A vfork child: the parent (pid) it releases when it execs or exits. */
  vfork_parent: number | null = null;
  /**
   * signal->oom_score_adj (-1000..1000): added to the OOM killer's badness in thousandths of the
   * machine's memory; -1000 makes the task unkillable by it. Shared by the thread group (set
   * through oom_kill.ts), inherited by fork, kept across execve.
   */
  oom_score_adj = 0;
  /** Killed by the OOM killer (tsk_is_oom_victim). */
  oom_victim = false;
  /**
   * Process group and session (pgid, sid): a spawned task leads its own (as after setsid), fork
   * and clone inherit them. Only /proc/PID/status shows them; no call here changes them.
   */
  pgid: number;
  sid: number;
  /**
   * Credentials are not modelled beyond `caps`: every task runs as one unprivileged user, so a
   * privilege comes only from a capability it was given.
   */
  readonly uid = 1000;
  readonly gid = 1000;

  constructor(
    /** Changes only when a non-leader thread execs and takes over its group leader's pid (de_thread). */
    public pid: number,
    public tgid: number,
    public ppid: number,
    public comm: string,
    /** The address space, or null once the task has exited. */
    public mm: mm_struct | null,
    public files: FdTable,
    public rlimits: Rlimits,
    public caps: Capabilities,
  ) {
    this.pgid = tgid;
    this.sid = tgid;
  }

  /**
   * The task is blocked (a vfork parent until its child execs or exits): it cannot make calls.
   * Callers that would run it anyway have a bug; the core refuses with TaskBlockedError.
   */
  assert_runnable(): void {
    if (this.state === "vfork-waiting")
      throw new TaskBlockedError(`task ${this.pid} is blocked in vfork until its child execs or exits`);
    if (this.state !== "running") throw new TaskBlockedError(`task ${this.pid} has exited (${this.state})`);
  }

  /** PF_RANDOMIZE: ASLR applies to this task. */
  randomize(randomize_va_space: number): boolean {
    return randomize_va_space > 0 && !(this.personality & ADDR_NO_RANDOMIZE);
  }
}
