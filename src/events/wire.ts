/**
 * The event catalogue: the zod schemas of everything a stream carries, in both directions. The
 * encoder (encode.ts) produces these shapes, the tests validate every received item against them,
 * and asyncapi.yaml is generated from them (asyncapi.ts), so the three cannot drift.
 *
 * Server -> client: every WebSocket message is a JSON array of items in order. An item is an event
 * (it has `seq`) or a control item (`gap`, `subscribed`, `unsubscribed`, `pong`, `error`).
 * Client -> server: one op per message (`subscribe`, `unsubscribe`, `ping`).
 *
 * To add an event type: add its schema to EVENT_SCHEMAS (and its encoder in encode.ts).
 */
import { z } from "zod";

/** Schemas with a name in the catalogue (the AsyncAPI components); kept out of the OpenAPI registry. */
export const catalogue = z.registry<{ id: string }>();
function named<T extends z.ZodType>(id: string, description: string, s: T): T {
  const d = s.describe(description) as T;
  catalogue.add(d, { id });
  return d;
}

/**
 * An address: lowercase hex with 0x, as the HTTP API's HexAddress (a test checks they agree). Not
 * imported from src/http: loading that module from here would reorder the OpenAPI components.
 */
export const HexAddress = z.string().regex(/^0x[0-9a-f]+$/);

/** An address as HexAddress writes it (negative numbers: their two's complement, as u64). */
export function hex(x: number): string {
  if (!Number.isSafeInteger(x)) throw new TypeError(`not an address: ${String(x)}`);
  return x < 0 ? `0x${BigInt.asUintN(64, BigInt(x)).toString(16)}` : `0x${x.toString(16)}`;
}

export const Vma = named(
  "EventVma",
  "A VMA as events show it: kernel field names as in the HTTP API's Vma, in a compact form (flags as smaps mnemonics, the file by path)",
  z.strictObject({
    vm_start: HexAddress,
    vm_end: HexAddress,
    perms: z
      .string()
      .regex(/^[r-][w-][x-][sp]$/)
      .describe('The perms column of /proc/PID/maps ("rw-p")'),
    vm_flags: z
      .array(z.string().regex(/^[a-z0-9]{2}$/))
      .describe(
        "The vm_flags bits as /proc/PID/smaps VmFlags mnemonics (rd, wr, ex, sh, mr, mw, me, ms, gd, lo, ac, sd, ...), in its order",
      ),
    vm_pgoff: z.int(),
    file: z
      .string()
      .nullable()
      .describe("The mapped file's path, or the special mapping's name ([stack], [heap], [vdso]), or null"),
    anon_vma: z.int().nullable().describe("The anon_vma id (the merge rule compares them), or null"),
  }),
);

/** Fields every event has. */
const base = {
  seq: z.int().min(1).describe("Per machine: 1 for the machine's first event, then one more per event"),
  time: z.iso.datetime().describe("When the delivery layer received the fact (the core has no clock)"),
  machine: z.string().describe("The machine id"),
  pid: z.int().describe("The task the event is about (for splits and merges: the mm's owner)"),
  mm: z.int().describe("The mm_struct id (threads and vfork children share their parent's)"),
};

// ---------------------------------------------------------------------------------------------
// Mapping changes: one type per call, named after it.

/** How each argument is rendered: addresses as hex strings, everything else as an integer. */
export type ArgKind = "address" | "int";

export interface SyscallEventSpec {
  readonly summary: string;
  /** Argument name -> [rendering, the default the core uses when the caller left it out]. */
  readonly args: Readonly<Record<string, readonly [ArgKind, number]>>;
  /** What a successful call returns. */
  readonly ret: ArgKind;
}

const ADDR = ["address", 0] as const;
const INT = ["int", 0] as const;

/** The calls of the core's syscall table (core/syscalls.ts) as event types. */
export const SYSCALL_EVENTS = {
  mmap: {
    summary: "mmap(2)",
    args: { addr: ADDR, length: INT, prot: INT, flags: INT, fd: ["int", -1], offset: INT },
    ret: "address",
  },
  munmap: { summary: "munmap(2)", args: { addr: ADDR, length: INT }, ret: "int" },
  mprotect: { summary: "mprotect(2)", args: { addr: ADDR, length: INT, prot: INT }, ret: "int" },
  mremap: {
    summary: "mremap(2)",
    args: { old_address: ADDR, old_size: INT, new_size: INT, flags: INT, new_address: ADDR },
    ret: "address",
  },
  brk: { summary: "brk(2): ret is the (new or unchanged) break", args: { addr: ADDR }, ret: "address" },
  madvise: { summary: "madvise(2)", args: { addr: ADDR, length: INT, advice: INT }, ret: "int" },
  mlock: { summary: "mlock(2)", args: { addr: ADDR, length: INT }, ret: "int" },
  mlock2: { summary: "mlock2(2)", args: { addr: ADDR, length: INT, flags: INT }, ret: "int" },
  munlock: { summary: "munlock(2)", args: { addr: ADDR, length: INT }, ret: "int" },
  mlockall: { summary: "mlockall(2)", args: { flags: INT }, ret: "int" },
  munlockall: { summary: "munlockall(2)", args: {}, ret: "int" },
  msync: { summary: "msync(2)", args: { addr: ADDR, length: INT, flags: INT }, ret: "int" },
  mincore: {
    summary: "mincore(2) (changes nothing; reported like the others)",
    args: { addr: ADDR, length: INT },
    ret: "int",
  },
  ftruncate: {
    summary: "ftruncate(2): shrinking zaps mapped pages past the new end",
    args: { fd: INT, length: INT },
    ret: "int",
  },
  close: { summary: "close(2)", args: { fd: INT }, ret: "int" },
} as const satisfies Record<string, SyscallEventSpec>;

export type SyscallEventType = keyof typeof SYSCALL_EVENTS;

function syscallSchema(call: SyscallEventType, spec: SyscallEventSpec) {
  const args: Record<string, z.ZodType> = {};
  for (const [k, [kind]] of Object.entries(spec.args)) args[k] = kind === "address" ? HexAddress : z.int();
  const ok = spec.ret === "address" ? HexAddress : z.int().min(0);
  return named(
    `Event_${call}`,
    `${spec.summary}: its arguments (flag words as integers, Linux x86_64 values), its result or errno, and the VMAs of the affected range (one page more on each side) before and after`,
    z.strictObject({
      ...base,
      type: z.literal(call),
      args: z.strictObject(args),
      ret: z.union([ok, z.literal(-1)]).describe("The return value, or -1 with errno"),
      errno: z.string().nullable().describe("The errno name when ret is -1, else null"),
      before: z.array(Vma),
      after: z.array(Vma),
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The other facts.

export const FAULT_KINDS = ["minor", "major", "cow", "zero", "swapin"] as const;

const FaultEvent = named(
  "Event_fault",
  "A page fault taken by a task's load, store or instruction fetch (after the fault handler ran), or the signal it raised instead",
  z.strictObject({
    ...base,
    type: z.literal("fault"),
    addr: HexAddress,
    access: z.enum(["read", "write", "exec"]),
    kind: z
      .enum(FAULT_KINDS)
      .nullable()
      .describe(
        "minor, major (read from a file), cow (copy-on-write), zero (the shared zero page), swapin; null when the fault mapped nothing (a signal, or a spurious fault)",
      ),
    detail: z
      .string()
      .describe(
        "The fault handler's finer kind: anon, zero, cow, reuse (a write fault that kept the page), file, shared, shmem, none",
      ),
    result: z.enum(["ok", "SIGSEGV", "SIGBUS"]),
    si_code: z
      .string()
      .nullable()
      .describe(
        "With a signal: SEGV_MAPERR, SEGV_ACCERR, SEGV_PKUERR, SI_KERNEL, BUS_ADRERR, BUS_MCEERR_AR; else null",
      ),
    pages: z.int().min(0).describe("Pages newly mapped (fault-around maps several)"),
    vma: Vma.nullable().describe("The VMA at the address after the fault, or null"),
  }),
);

const VmaSplitEvent = named(
  "Event_vma_split",
  "A VMA was split at `at` (the event comes before the call's own event)",
  z.strictObject({
    ...base,
    type: z.literal("vma_split"),
    vma: Vma.describe("The new VMA"),
    at: HexAddress,
  }),
);

const VmaMergeEvent = named(
  "Event_vma_merge",
  "VMAs were merged into one (the event comes before the call's own event)",
  z.strictObject({
    ...base,
    type: z.literal("vma_merge"),
    into: Vma.describe("The VMA after the merge"),
    removed: z.int().min(0).describe("How many VMAs the merge removed"),
  }),
);

const TaskNewEvent = named(
  "Event_task_new",
  "A task was created with an empty address space (a spawn)",
  z.strictObject({ ...base, type: z.literal("task_new"), comm: z.string() }),
);

const ExecveEvent = named(
  "Event_execve",
  "execve(2) replaced the task's address space (mm is the new one)",
  z.strictObject({ ...base, type: z.literal("execve"), comm: z.string() }),
);

const ExitEvent = named(
  "Event_exit",
  "A task exited (it is a zombie until reaped)",
  z.strictObject({
    ...base,
    type: z.literal("exit"),
    comm: z.string(),
    status: z.int().describe("The exit(2) status"),
    signal: z
      .int()
      .nullable()
      .describe("The fatal signal number instead of an exit (9 for SIGKILL), or null"),
  }),
);

const forkLike = (type: "fork" | "clone", description: string) =>
  named(
    `Event_${type}`,
    description,
    z.strictObject({
      ...base,
      type: z.literal(type),
      child: z.int().describe("The new task's pid"),
      flags: z
        .int()
        .describe("The clone flags (CLONE_VM 0x100, CLONE_VFORK 0x4000, CLONE_THREAD 0x10000, ...)"),
    }),
  );
const ForkEvent = forkLike("fork", "fork(2): pid and mm are the parent's; the child has a copy of the mm");
const CloneEvent = forkLike(
  "clone",
  "clone(2) with CLONE_VM (a thread, or vfork): the child shares the mm (an mm_release event follows with the new mm_users)",
);

const MmReleaseEvent = named(
  "Event_mm_release",
  "An mm_struct's reference counts changed: a user was added (clone) or dropped (exit, execve); mm_users 0 means the address space was torn down",
  z.strictObject({
    ...base,
    type: z.literal("mm_release"),
    mm_users: z.int(),
    mm_count: z.int(),
  }),
);

// ---------------------------------------------------------------------------------------------
// Memory pressure.

const ReclaimEvent = named(
  "Event_reclaim",
  "A page reclaim run (pid and mm: the task whose allocation ran it): kswapd's (an allocation would leave fewer free pages than the low watermark: reclaim up to the high one), direct (below the min watermark), or MADV_PAGEOUT's",
  z.strictObject({
    ...base,
    type: z.literal("reclaim"),
    mode: z.enum(["kswapd", "direct", "pageout"]),
    policy: z
      .enum(["linux", "fifo", "lru", "clock"])
      .describe("The machine's replacement policy (profile.replacementPolicy)"),
    scanned: z.int().min(0).describe("Pages scanned on the inactive lists (or the classic policy's list)"),
    reclaimed: z.int().min(0).describe("Pages freed"),
    anon: z.int().min(0).describe("Of which anonymous (swapped out, or MADV_FREE'd and dropped)"),
    file: z.int().min(0).describe("Of which page cache (dropped, after writeback if dirty)"),
    swapped: z.int().min(0).describe("Pages that went to swap"),
    written: z.int().min(0).describe("Dirty file pages written back"),
    free: z.int().min(0).describe("Free pages after the run"),
  }),
);

const SwapOutEvent = named(
  "Event_swap_out",
  "An anonymous page left memory for a swap slot; pid, mm and addr are its first mapping's (addr null when no PTE mapped it: the reclaiming task's pid and mm then)",
  z.strictObject({
    ...base,
    type: z.literal("swap_out"),
    addr: HexAddress.nullable(),
    slot: z.int().min(1).describe("The swap slot (pagemap shows it as the offset of the swap entry)"),
    mapped: z.int().min(0).describe("PTEs that now hold the swap entry"),
    written: z
      .boolean()
      .describe("Written to swap (false: the slot already held these bytes, or the page was zero-filled)"),
  }),
);

const SwapInEvent = named(
  "Event_swap_in",
  "A fault brought a swapped-out page back: read from swap (a major fault) or found in the swap cache (minor)",
  z.strictObject({
    ...base,
    type: z.literal("swap_in"),
    addr: HexAddress,
    slot: z.int().min(1),
    major: z.boolean(),
  }),
);

const WritebackEvent = named(
  "Event_writeback",
  "Reclaim wrote a dirty page-cache page back to its file before dropping it (pid and mm: the reclaiming task)",
  z.strictObject({
    ...base,
    type: z.literal("writeback"),
    file: z.string().describe("The file's path"),
    index: z.int().min(0).describe("The page's index in the file"),
  }),
);

const OomKillEvent = named(
  "Event_oom_kill",
  "The OOM killer killed a process (pid and mm: the victim) and every task sharing its mm; sizes in kB as the kernel's message gives them",
  z.strictObject({
    ...base,
    type: z.literal("oom_kill"),
    comm: z.string(),
    points: z.int().describe("oom_badness: RSS + swap entries + page-table pages, plus oom_score_adj"),
    oom_score_adj: z.int().min(-1000).max(1000),
    total_vm: z.int().min(0),
    anon_rss: z.int().min(0),
    file_rss: z.int().min(0),
    shmem_rss: z.int().min(0),
    swapents: z.int().min(0),
    pgtables: z.int().min(0),
    killed: z
      .array(z.int())
      .describe("Every task killed (the thread groups of the victim and of the processes sharing its mm)"),
    trigger: z.int().describe("The pid whose allocation ran out of memory (0: none)"),
  }),
);

/** Every event type: the mapping changes, then the other facts. */
const syscallSchemas = (Object.keys(SYSCALL_EVENTS) as SyscallEventType[]).map((call) =>
  syscallSchema(call, SYSCALL_EVENTS[call]),
);
export const EVENT_SCHEMAS = [
  syscallSchemas[0]!,
  ...syscallSchemas.slice(1),
  VmaSplitEvent,
  VmaMergeEvent,
  FaultEvent,
  TaskNewEvent,
  ExecveEvent,
  ExitEvent,
  ForkEvent,
  CloneEvent,
  MmReleaseEvent,
  ReclaimEvent,
  SwapOutEvent,
  SwapInEvent,
  WritebackEvent,
  OomKillEvent,
] as const;

export const EVENT_TYPES: readonly string[] = EVENT_SCHEMAS.map((s) => s.shape.type.value as string);

export const Event = named(
  "Event",
  "One event: {seq, time, machine, pid, mm, type, ...}",
  z.discriminatedUnion("type", [...EVENT_SCHEMAS]),
);
export type WireEvent = z.infer<typeof Event>;

// ---------------------------------------------------------------------------------------------
// Control items (no seq).

export const Gap = named(
  "Gap",
  "Events with seq from..to (inclusive) of the machine were not delivered: they left the replay ring before a resume asked for them, or this connection's queue overflowed. Reconnect with since=from-1 to get those still in the ring.",
  z.strictObject({
    type: z.literal("gap"),
    machine: z.string(),
    from: z.int().min(1),
    to: z.int().min(1),
  }),
);

export const Filter = named(
  "Filter",
  "What a subscription lets through; an absent field lets everything through",
  z.strictObject({
    types: z.array(z.string()).optional().describe("Event types"),
    pids: z.array(z.int()).optional(),
    mm: z.array(z.int()).optional().describe("mm_struct ids"),
    machines: z.array(z.string()).optional().describe("Machine ids (the all-machines stream only)"),
  }),
);

export const Subscribed = named(
  "Subscribed",
  "The subscription in force from here on (first item of a stream, and the reply to subscribe); latest holds each machine's latest seq at this point (0: none yet)",
  z.strictObject({
    type: z.literal("subscribed"),
    filter: Filter,
    latest: z.record(z.string(), z.int().min(0)),
  }),
);

export const Unsubscribed = named(
  "Unsubscribed",
  "The reply to unsubscribe: no events until the next subscribe",
  z.strictObject({ type: z.literal("unsubscribed") }),
);

export const Pong = named(
  "Pong",
  "The reply to a ping op",
  z.strictObject({ type: z.literal("pong"), id: z.union([z.string(), z.number()]).optional() }),
);

export const ErrorItem = named(
  "ErrorItem",
  "A client message the server could not act on (the connection stays open), or a notice about the subscription",
  z.strictObject({
    type: z.literal("error"),
    code: z
      .enum(["BAD_JSON", "BAD_MESSAGE", "SINCE_AHEAD"])
      .describe(
        "BAD_JSON: not a JSON text message; BAD_MESSAGE: not a valid op; SINCE_AHEAD: since is past the machine's latest seq (the machine was recreated or the server restarted), so the stream restarts from the ring's start",
      ),
    message: z.string(),
    issues: z
      .array(z.strictObject({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
      .optional(),
  }),
);

export const ServerItem = named(
  "ServerItem",
  "An item of a server message: an event or a control item",
  z.discriminatedUnion("type", [...EVENT_SCHEMAS, Gap, Subscribed, Unsubscribed, Pong, ErrorItem]),
);
export type ServerItemT = z.infer<typeof ServerItem>;

export const ServerMessage = z
  .array(ServerItem)
  .min(1)
  .describe("One WebSocket text message: items in order (a busy stream coalesces many events into one)");

// ---------------------------------------------------------------------------------------------
// Client ops.

const oneOrMany = <T extends z.ZodType>(t: T) =>
  z.union([t, z.array(t)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

export const SubscribeOp = named(
  "SubscribeOp",
  "Replace the subscription's filter; with since, first replay the ring after it (as the query parameter does)",
  z.strictObject({
    op: z.literal("subscribe"),
    types: z.array(z.enum(EVENT_TYPES as [string, ...string[]])).optional(),
    pids: oneOrMany(z.int()).optional(),
    mm: oneOrMany(z.int()).optional(),
    machines: z.array(z.string()).optional().describe("Machine ids (the all-machines stream only)"),
    since: z
      .union([z.int().min(0), z.record(z.string(), z.int().min(0))])
      .optional()
      .describe("A seq (machine stream), or machine id -> seq (all-machines stream)"),
  }),
);

export const UnsubscribeOp = named(
  "UnsubscribeOp",
  "Stop events until the next subscribe",
  z.strictObject({ op: z.literal("unsubscribe") }),
);

export const PingOp = named(
  "PingOp",
  "Ask for a pong item (in order with the events: everything sent before it has been delivered)",
  // The id comes back in the pong: bounded, so a reply stays small.
  z.strictObject({ op: z.literal("ping"), id: z.union([z.string().max(256), z.number()]).optional() }),
);

export const ClientOp = named(
  "ClientOp",
  "One client message",
  z.discriminatedUnion("op", [SubscribeOp, UnsubscribeOp, PingOp]),
);
export type ClientOpT = z.infer<typeof ClientOp>;

/** WebSocket close codes the server uses. */
export const CLOSE_CODES = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** A client message larger than the limit (ws closes the connection). */
  TOO_BIG: 1009,
  /** The connection stayed overflowed (dropping events) for longer than EVENTS_SLOW_CLOSE_MS. */
  TOO_SLOW: 4008,
  /** The machine of a machine stream was deleted. */
  MACHINE_GONE: 4404,
} as const;
