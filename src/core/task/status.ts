/**
 * /proc/PID/status (proc_pid_status in fs/proc/array.c), line for line as Linux 6.x prints it on
 * x86_64: identity and state, the memory lines (task_mem, in mm/procfs.ts), signals,
 * capabilities, seccomp, speculation and CPU/NUMA placement.
 *
 * What the simulation does not model is printed as a quiet process on a one-CPU, one-node machine
 * would show it: no pending, blocked, ignored or caught signals, no seccomp, no tracer, no
 * context switches, CPU 0 and node 0 only. The speculation lines are those of the AMD EPYC
 * development machines (they depend on the CPU and its mitigations, not on the process).
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import { THREAD_SIZE } from "../mem/page_alloc.js";
import { show_status_mem } from "../mm/procfs.js";
import { MMF_DISABLE_THP } from "../mm/types.js";
import type { task_struct } from "./task.js";

/** CAP_LAST_CAP of Linux 6.x (CAP_CHECKPOINT_RESTORE = 40): the bounding set has 41 bits. */
const CAP_LAST_CAP = 40;
const CAP_BIT = { CAP_IPC_LOCK: 14, CAP_SYS_RAWIO: 17, CAP_SYS_ADMIN: 21 } as const;
/** FUTEX_TID_MASK, the most threads set_max_threads() allows. */
const MAX_THREADS = 0x3fffffff;
/** MAX_NUMNODES with x86_64's CONFIG_NODES_SHIFT=10: Mems_allowed prints 32 words of 32 bits. */
const NODE_MASK_WORDS = 1024 / 32;

const ZERO_SIGSET = "0000000000000000";

/** State: the first letter and word of task_state_array for what the task is doing. */
function task_state(t: task_struct): string {
  switch (t.state) {
    case "running":
      return "R (running)";
    case "vfork-waiting":
      // wait_for_vfork_done() sleeps TASK_KILLABLE, reported as uninterruptible [obs].
      return "D (disk sleep)";
    case "zombie":
      return "Z (zombie)";
    case "dead":
      return "X (dead)";
  }
}

/** task_name(): the comm with backslash and newline escaped. */
function task_name(comm: string): string {
  return comm.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** render_cap_t(): the 64-bit set as 16 hex digits. */
function cap_hex(bits: bigint): string {
  return bits.toString(16).padStart(16, "0");
}

/** The effective (and permitted) set: the capabilities the task was given. */
function cap_effective(t: task_struct): bigint {
  let bits = 0n;
  for (const [name, bit] of Object.entries(CAP_BIT))
    if (t.caps[name as keyof typeof CAP_BIT]) bits |= 1n << BigInt(bit);
  return bits;
}

/**
 * RLIMIT_SIGPENDING as init gets it: max_threads / 2, where set_max_threads() allows as many
 * threads as RAM holds kernel stacks (THREAD_SIZE) eight times over (the kernel counts the pages free at boot,
 * slightly fewer than MemTotal; this uses all of RAM).
 */
function sigpending_limit(m: Machine): number {
  const threads = Math.floor((m.totalram_pages * PAGE_SIZE) / (THREAD_SIZE * 8));
  return Math.floor(Math.min(Math.max(threads, 20), MAX_THREADS) / 2);
}

/** get_nr_threads(): the thread group's tasks not yet released (a zombie leader counts). */
function nr_threads(m: Machine, t: task_struct): number {
  let n = 0;
  for (const o of m.tasks.values()) if (o.tgid === t.tgid && o.state !== "dead") n++;
  return n;
}

export function show_status(m: Machine, t: task_struct): string {
  const zombie = t.state === "zombie" || t.state === "dead";
  const mm = zombie ? null : t.mm;
  const pid = t.pid;
  let s = `Name:\t${task_name(t.comm)}\n`;
  // A zombie has released its fs_struct (no umask) and its files (FDSize 0) [obs].
  if (!zombie) s += "Umask:\t0022\n";
  s +=
    `State:\t${task_state(t)}\n` +
    `Tgid:\t${t.tgid}\nNgid:\t0\nPid:\t${pid}\nPPid:\t${t.ppid}\nTracerPid:\t0\n` +
    `Uid:\t${t.uid}\t${t.uid}\t${t.uid}\t${t.uid}\nGid:\t${t.gid}\t${t.gid}\t${t.gid}\t${t.gid}\n` +
    `FDSize:\t${zombie ? 0 : t.files.max_fds}\nGroups:\t \n` +
    `NStgid:\t${t.tgid}\nNSpid:\t${pid}\nNSpgid:\t${t.pgid}\nNSsid:\t${t.sid}\nKthread:\t0\n`;
  if (mm) {
    s +=
      show_status_mem(m, mm) +
      "CoreDumping:\t0\n" +
      `THP_enabled:\t${mm.flags & MMF_DISABLE_THP ? 0 : 1}\n` +
      // No linear address masking: every bit of an address is used.
      "untag_mask:\t0xffffffffffffffff\n";
  }
  const eff = cap_hex(cap_effective(t));
  s +=
    `Threads:\t${nr_threads(m, t)}\nSigQ:\t0/${sigpending_limit(m)}\n` +
    `SigPnd:\t${ZERO_SIGSET}\nShdPnd:\t${ZERO_SIGSET}\nSigBlk:\t${ZERO_SIGSET}\n` +
    `SigIgn:\t${ZERO_SIGSET}\nSigCgt:\t${ZERO_SIGSET}\n` +
    `CapInh:\t${ZERO_SIGSET}\nCapPrm:\t${eff}\nCapEff:\t${eff}\n` +
    `CapBnd:\t${cap_hex((1n << BigInt(CAP_LAST_CAP + 1)) - 1n)}\nCapAmb:\t${ZERO_SIGSET}\n` +
    "NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n" +
    "Speculation_Store_Bypass:\tvulnerable\nSpeculationIndirectBranch:\talways enabled\n" +
    "Cpus_allowed:\t1\nCpus_allowed_list:\t0\n" +
    `Mems_allowed:\t${Array.from({ length: NODE_MASK_WORDS }, (_, i) => (i === NODE_MASK_WORDS - 1 ? "00000001" : "00000000")).join(",")}\n` +
    "Mems_allowed_list:\t0\n" +
    "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n";
  return s;
}
