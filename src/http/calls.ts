/**
 * The call table: every call a task can make through the API (`POST …/tasks/{pid}/{call}` and the
 * entries of `/batch`), each with its arguments (decode.ts), its reply schema, and the one core call
 * it makes. `runCall` is the single execution path shared by the single-call routes and /batch, so
 * the two cannot drift: same decoding, same checks, same encoding, same metrics.
 */
import { Buffer } from "node:buffer";
import { z } from "zod";
import type { Limits } from "../config.js";
import { ERRNO_MESSAGES, errnoName } from "../core/abi/errno.js";
import {
  MADV_NAMES,
  MAP_NAMES,
  MCL_NAMES,
  MLOCK_NAMES,
  MREMAP_NAMES,
  MS_NAMES,
  O_NAMES,
  PROT_NAMES,
} from "../core/abi/mman.js";
import { sys_open } from "../core/fs/open.js";
import { type AccessKind, type AccessResult, access_vm } from "../core/mm/access.js";
import { do_syscall } from "../core/syscalls.js";
import { do_execve } from "../core/task/exec.js";
import { do_exit, do_group_exit, do_wait4 } from "../core/task/exit.js";
import {
  CLONE_FILES,
  CLONE_FS,
  CLONE_SIGHAND,
  CLONE_THREAD,
  CLONE_VFORK,
  CLONE_VM,
  do_fork,
} from "../core/task/fork.js";
import type { task_struct } from "../core/task/task.js";
import { type ArgsSpec, args, field, optional } from "./decode.js";
import { ApiError, overLimit } from "./errors.js";
import type { MachineEntry } from "./machine_registry.js";
import {
  flagsOf,
  HexAddress,
  hexAddr,
  INVALID,
  Int,
  type Invalid,
  Oom,
  parseFlags,
  parseInt32,
  parseUlong,
  RetAddress,
  RetInt,
  SyscallFailure,
  Ulong,
} from "./schemas/common.js";
import { ExecFields } from "./schemas/image.js";

/** clone(2) flag names. */
export const CLONE_NAMES: Readonly<Record<string, number>> = {
  CLONE_VM,
  CLONE_FS,
  CLONE_FILES,
  CLONE_SIGHAND,
  CLONE_VFORK,
  CLONE_THREAD,
};

/** The most bytes one memory/read, memory/write or memory/exec may touch. */
export const MAX_ACCESS_BYTES = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Fields

const ulong = () => field(Ulong, parseUlong);
const int = () => field(Int, parseInt32);
const flags = (names: Readonly<Record<string, number>>, example: string) =>
  field(flagsOf(names, example), (v) => parseFlags(v, names));

function parseAccessLength(v: unknown): number | Invalid {
  const n = parseUlong(v);
  return n !== INVALID && n >= 0 && n <= MAX_ACCESS_BYTES ? n : INVALID;
}
const accessLength = () =>
  field(
    Ulong.refine((n) => n >= 0 && n <= MAX_ACCESS_BYTES, `expected at most ${MAX_ACCESS_BYTES} bytes`),
    parseAccessLength,
  );

const HEX_BYTES = /^(?:[0-9a-fA-F]{2})*$/;
function parseHexData(v: unknown): Uint8Array | Invalid {
  if (typeof v !== "string" || v.length > 2 * MAX_ACCESS_BYTES || !HEX_BYTES.test(v)) return INVALID;
  return new Uint8Array(Buffer.from(v, "hex"));
}
const hexData = () =>
  field(
    z
      .string()
      .max(2 * MAX_ACCESS_BYTES)
      .regex(HEX_BYTES, "expected hex bytes (an even number of hex digits)")
      .transform((s) => new Uint8Array(Buffer.from(s, "hex")))
      .meta({ description: "Bytes as hex", examples: ["48656c6c6f"] }),
    parseHexData,
  );

function parseByte(v: unknown): number | Invalid {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255 ? v : INVALID;
}
const byte = () => field(z.int().min(0).max(255), parseByte);

// ---------------------------------------------------------------------------------------------
// Results

/** Frozen replies shared by every call that gives them, each with its JSON made once. */
const cannedJson = new WeakMap<object, string>();
function canned<T extends object>(reply: T): Readonly<T> {
  cannedJson.set(Object.freeze(reply), JSON.stringify(reply));
  return reply;
}

/** A reply's JSON: made once for the shared ones ({ret: 0}, failures), by JSON.stringify otherwise. */
export function replyJson(reply: unknown): string {
  return (typeof reply === "object" && reply !== null && cannedJson.get(reply)) || JSON.stringify(reply);
}

/** {ret: 0}: the reply of most successful calls. */
const RET_0 = canned({ ret: 0 });

const failures: Record<number, z.infer<typeof SyscallFailure>> = {};
/** A failed call's reply (one frozen object per errno). */
export function failure(errno: number): z.infer<typeof SyscallFailure> {
  let f = failures[errno];
  if (!f) {
    f = canned({
      ret: -1 as const,
      errno: errnoName(errno),
      message: ERRNO_MESSAGES[errno] ?? `Unknown error ${errno}`,
    });
    failures[errno] = f;
  }
  return f;
}

const Faults = z.object({ minor: z.int(), major: z.int() });
const Signal = z
  .object({
    signo: z.enum(["SIGSEGV", "SIGBUS"]),
    code: z.string().meta({ examples: ["SEGV_MAPERR"] }),
    addr: HexAddress,
  })
  .meta({ id: "Signal", description: "The signal the access raised; the access stopped there." });
const ReadResult = z
  .object({
    data: z.string().meta({ description: "The bytes read, as hex (up to the fault, if any)" }),
    faults: Faults,
    signal: Signal.optional(),
    oom: Oom.optional(),
  })
  .meta({ id: "MemoryRead" });
const AccessDone = z
  .object({
    done: z
      .int()
      .meta({ description: "Bytes transferred before a signal or running out of memory (or all of them)" }),
    faults: Faults,
    signal: Signal.optional(),
    oom: Oom.optional(),
  })
  .meta({ id: "MemoryAccess" });
const MincoreResult = z
  .object({ ret: z.literal(0), vec: z.array(z.int().min(0).max(1)) })
  .meta({ id: "Mincore" });
const Wait4Result = z
  .object({
    ret: z.int().meta({ description: "The reaped child's pid, or 0 when no child has exited yet" }),
    status: z.int().meta({ description: "The wait status (exit code << 8, or the signal number)" }),
  })
  .meta({ id: "Wait4" });

export type CallReply = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// The table

export interface CallContext {
  limits: Limits;
  /** Told of every executed call (metrics). */
  observe(call: string, errno: string | null, minor: number, major: number): void;
}

export interface CallSpec {
  readonly name: string;
  readonly summary: string;
  readonly args: ArgsSpec<Record<string, unknown>>;
  /** The 200 reply, as documented. */
  readonly result: z.ZodType;
  run(ctx: CallContext, entry: MachineEntry, task: task_struct, args: Record<string, unknown>): CallReply;
}

function spec<A extends Record<string, unknown>>(
  name: string,
  summary: string,
  a: ArgsSpec<A>,
  result: z.ZodType,
  run: (ctx: CallContext, entry: MachineEntry, task: task_struct, args: A) => CallReply,
): CallSpec {
  // A named component in the OpenAPI document (the single route and /batch both refer to it).
  const id = `${name.replace(/(^|[/_])([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase())}Args`;
  const documented = { ...a, schema: a.schema.meta({ id }) } as ArgsSpec<Record<string, unknown>>;
  return { name, summary, args: documented, result, run: run as CallSpec["run"] };
}

/** A call of the core's syscall table (core/syscalls.ts), returning an int or an address. */
function sys<A extends Record<string, unknown>>(
  name: string,
  summary: string,
  a: ArgsSpec<A>,
  returns: "int" | "address",
): CallSpec {
  const address = returns === "address";
  return spec(name, summary, a, z.union([address ? RetAddress : RetInt, SyscallFailure]), (_c, e, t, x) => {
    const r = do_syscall(e.machine, t, name, x as Record<string, number>);
    if (!r.ok) return failure(r.errno);
    const v = r.value as number;
    return address ? { ret: hexAddr(v) } : v === 0 ? RET_0 : { ret: v };
  });
}

function forkLike(ctx: CallContext, entry: MachineEntry, task: task_struct, flags: number): CallReply {
  const max = ctx.limits.tasksPerMachine;
  if (entry.machine.tasks.size >= max)
    throw overLimit("LIMIT_TASKS", `at most ${max} tasks per machine (MAX_TASKS_PER_MACHINE)`);
  const r = do_fork(entry.machine, task, flags);
  return r.ok ? { ret: r.value.pid } : failure(r.errno);
}

function access(
  entry: MachineEntry,
  task: task_struct,
  addr: number,
  len: number,
  kind: AccessKind,
  data?: Uint8Array,
): AccessResult {
  return access_vm(entry.machine, task, addr, len, kind, data);
}

function signalOf(r: AccessResult) {
  const s = r.signal!;
  return { signo: s.signo, code: s.code, addr: hexAddr(s.addr) };
}

const addrLen = () => ({ addr: ulong(), length: ulong() });

const LIST: CallSpec[] = [
  sys(
    "mmap",
    "mmap(2): map memory (anonymous, or a file by fd)",
    args({
      addr: optional(ulong(), 0),
      length: ulong(),
      prot: flags(PROT_NAMES, "PROT_READ|PROT_WRITE"),
      flags: flags(MAP_NAMES, "MAP_PRIVATE|MAP_ANONYMOUS"),
      fd: optional(int(), -1),
      offset: optional(ulong(), 0),
    }),
    "address",
  ),
  sys("munmap", "munmap(2)", args(addrLen()), "int"),
  sys("mprotect", "mprotect(2)", args({ ...addrLen(), prot: flags(PROT_NAMES, "PROT_READ") }), "int"),
  sys(
    "mremap",
    "mremap(2)",
    args({
      old_address: ulong(),
      old_size: ulong(),
      new_size: ulong(),
      flags: optional(flags(MREMAP_NAMES, "MREMAP_MAYMOVE"), 0),
      new_address: optional(ulong(), 0),
    }),
    "address",
  ),
  sys("brk", "brk(2): returns the (new or unchanged) break", args({ addr: ulong() }), "address"),
  sys("madvise", "madvise(2)", args({ ...addrLen(), advice: flags(MADV_NAMES, "MADV_DONTNEED") }), "int"),
  sys("mlock", "mlock(2)", args(addrLen()), "int"),
  sys(
    "mlock2",
    "mlock2(2)",
    args({ ...addrLen(), flags: optional(flags(MLOCK_NAMES, "MLOCK_ONFAULT"), 0) }),
    "int",
  ),
  sys("munlock", "munlock(2)", args(addrLen()), "int"),
  sys("mlockall", "mlockall(2)", args({ flags: flags(MCL_NAMES, "MCL_CURRENT|MCL_FUTURE") }), "int"),
  sys("munlockall", "munlockall(2)", args({}), "int"),
  sys("msync", "msync(2)", args({ ...addrLen(), flags: flags(MS_NAMES, "MS_SYNC") }), "int"),
  spec(
    "mincore",
    "mincore(2): one 0/1 entry per page",
    args(addrLen()),
    z.union([MincoreResult, SyscallFailure]),
    (_c, e, t, a) => {
      const r = do_syscall(e.machine, t, "mincore", a);
      if (!r.ok) return failure(r.errno);
      return { ret: 0, vec: Array.from(r.value as Uint8Array) };
    },
  ),
  spec(
    "open",
    "open(2) on the machine's files: returns the fd",
    args({
      path: field(z.string().min(1).max(4096), (v) =>
        typeof v === "string" && v.length >= 1 && v.length <= 4096 ? v : INVALID,
      ),
      flags: optional(flags(O_NAMES, "O_RDWR|O_CREAT"), 0),
    }),
    z.union([RetInt, SyscallFailure]),
    (_c, e, t, a) => {
      const r = sys_open(e.machine, t, a.path, a.flags);
      return r.ok ? { ret: r.value } : failure(r.errno);
    },
  ),
  sys("close", "close(2)", args({ fd: int() }), "int"),
  sys("ftruncate", "ftruncate(2)", args({ fd: int(), length: ulong() }), "int"),
  spec("fork", "fork(2): returns the child's pid", args({}), z.union([RetInt, SyscallFailure]), (c, e, t) =>
    forkLike(c, e, t, 0),
  ),
  spec(
    "vfork",
    "vfork(2): the child shares the mm; the parent cannot run calls (409) until the child execs or exits",
    args({}),
    z.union([RetInt, SyscallFailure]),
    (c, e, t) => forkLike(c, e, t, CLONE_VM | CLONE_VFORK),
  ),
  spec(
    "clone",
    "clone(2) with the memory-relevant flags (CLONE_VM|CLONE_SIGHAND|CLONE_THREAD for a thread)",
    args({ flags: flags(CLONE_NAMES, "CLONE_VM|CLONE_SIGHAND|CLONE_THREAD") }),
    z.union([RetInt, SyscallFailure]),
    (c, e, t, a) => forkLike(c, e, t, a.flags),
  ),
  spec(
    "execve",
    'execve(2): a new address space from an image spec (default: a dynamically linked PIE), or "empty"',
    args(ExecFields),
    z.union([RetInt, SyscallFailure]),
    (_c, e, t, a) => {
      const r = do_execve(e.machine, t, a);
      return r.ok ? { ret: 0 } : failure(r.errno);
    },
  ),
  spec(
    "exit",
    "exit(2): the task becomes a zombie until its parent reaps it ({ret:0} confirms; exit never returns)",
    args({ status: optional(int(), 0) }),
    RetInt,
    (_c, e, t, a) => {
      do_exit(e.machine, t, a.status);
      return { ret: 0 };
    },
  ),
  spec(
    "exit_group",
    "exit_group(2): every thread of the group exits",
    args({ status: optional(int(), 0) }),
    RetInt,
    (_c, e, t, a) => {
      do_group_exit(e.machine, t, a.status);
      return { ret: 0 };
    },
  ),
  spec(
    "wait4",
    "wait4(2) with WNOHANG semantics: reaps an exited child (pid -1: any)",
    args({ pid: optional(int(), -1) }),
    z.union([Wait4Result, SyscallFailure]),
    (_c, e, t, a) => {
      const r = do_wait4(e.machine, t, a.pid);
      return r.ok ? { ret: r.value.pid, status: r.value.status } : failure(r.errno);
    },
  ),
  spec(
    "memory/read",
    "Load bytes as the task would: faults, stack growth, signals",
    args({ addr: ulong(), length: accessLength() }),
    ReadResult,
    (_c, e, t, a) => {
      const r = access(e, t, a.addr, a.length, "read");
      const out: CallReply = {
        data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString("hex"),
        faults: { minor: r.minor, major: r.major },
      };
      if (r.signal) out.signal = signalOf(r);
      if (r.oom) out.oom = r.oom;
      return out;
    },
  ),
  spec(
    "memory/write",
    "Store bytes as the task would: {addr, data (hex)} or {addr, length, fill}",
    args(
      {
        addr: ulong(),
        data: optional(hexData()),
        length: optional(accessLength()),
        fill: optional(byte()),
      },
      (a) =>
        a.data !== undefined
          ? a.length !== undefined || a.fill !== undefined
            ? "give either data, or length (and fill)"
            : null
          : a.length === undefined
            ? "give data, or length (and fill)"
            : null,
    ),
    AccessDone,
    (_c, e, t, a) => {
      const data = a.data ?? Uint8Array.of(a.fill ?? 0);
      const len = a.data ? a.data.length : a.length!;
      const r = access(e, t, a.addr, len, "write", data);
      const out: CallReply = { done: r.done, faults: { minor: r.minor, major: r.major } };
      if (r.signal) out.signal = signalOf(r);
      if (r.oom) out.oom = r.oom;
      return out;
    },
  ),
  spec(
    "memory/exec",
    "Fetch instructions at addr (length bytes, default 1) as the task would",
    args({ addr: ulong(), length: optional(accessLength(), 1) }),
    AccessDone,
    (_c, e, t, a) => {
      const r = access(e, t, a.addr, a.length, "exec");
      const out: CallReply = { done: r.done, faults: { minor: r.minor, major: r.major } };
      if (r.signal) out.signal = signalOf(r);
      if (r.oom) out.oom = r.oom;
      return out;
    },
  ),
];

export const CALLS: ReadonlyMap<string, CallSpec> = new Map(LIST.map((c) => [c.name, c]));

// ---------------------------------------------------------------------------------------------
// Execution

/**
 * Run one decoded call on task `pid`: 404/409 when the task cannot run it, otherwise the call's
 * reply (a failed syscall included), observed for the metrics with the faults the call took. A
 * call during which the OOM killer killed the task says so (`oom: "killed"`).
 */
export function runCall(
  ctx: CallContext,
  entry: MachineEntry,
  pid: number,
  s: CallSpec,
  a: Record<string, unknown>,
): CallReply {
  const task = entry.runnable(pid);
  const min0 = task.min_flt;
  const maj0 = task.maj_flt;
  let reply = s.run(ctx, entry, task, a);
  if (task.oom_victim && reply.oom === undefined) reply = { ...reply, oom: "killed" };
  const minor = task.min_flt - min0;
  const major = task.maj_flt - maj0;
  ctx.observe(s.name, reply.ret === -1 ? (reply.errno as string) : null, minor, major);
  return reply;
}

/** A call that could not be executed, as the error body its single route would send. */
export function errorReply(e: unknown): CallReply {
  if (e instanceof ApiError) return e.toBody();
  throw e;
}
