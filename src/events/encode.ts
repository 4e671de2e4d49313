/**
 * The core's facts (core/events.ts) in their wire form (wire.ts): syscall facts become an event
 * named after the call, addresses become lowercase hex strings, fault kinds are folded into
 * minor/major/cow/zero/swapin. A fact the catalogue does not know yields null (the hub counts and
 * skips it): a new core fact never breaks delivery, it just is not streamed until it is catalogued.
 */
import type { CoreEvent, VmaFact } from "../core/events.js";
import { VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE, vmFlagNames } from "../core/mm/vm_flags.js";
import { type ArgKind, hex as hexAddr, SYSCALL_EVENTS, type SyscallEventSpec } from "./wire.js";

const SYSCALL_SPECS: Readonly<Record<string, SyscallEventSpec | undefined>> = SYSCALL_EVENTS;

/** An event's body: everything but seq, time and machine, which the hub adds. */
export interface EventBody {
  type: string;
  pid: number;
  mm: number;
  [k: string]: unknown;
}

export function vmaWire(v: VmaFact) {
  const f = v.flags;
  return {
    vm_start: hexAddr(v.start),
    vm_end: hexAddr(v.end),
    perms:
      (f & VM_READ ? "r" : "-") +
      (f & VM_WRITE ? "w" : "-") +
      (f & VM_EXEC ? "x" : "-") +
      (f & VM_MAYSHARE ? "s" : "p"),
    vm_flags: vmFlagNames(f),
    vm_pgoff: v.pgoff,
    file: v.file,
    anon_vma: v.anon_vma,
  };
}

const render = (kind: ArgKind, v: number) => (kind === "address" ? hexAddr(v) : v);

/**
 * The fault handler's kind folded into the catalogue's: a swap-in first (when the core has swap),
 * then anything that needed I/O is major, then copy-on-write and the zero page; the rest (new
 * anonymous pages, page-cache hits, shared and shmem pages, write faults that reused the page) are
 * minor. Nothing mapped (a signal, a spurious fault) is null.
 */
export function faultKind(detail: string, major: boolean, result: string): string | null {
  if (detail === "swapin") return "swapin";
  if (major) return "major";
  if (result !== "ok" || detail === "none") return null;
  if (detail === "cow") return "cow";
  if (detail === "zero") return "zero";
  return "minor";
}

/** The wire body of a fact, or null when the catalogue has no type for it. */
export function encodeFact(e: CoreEvent): EventBody | null {
  switch (e.type) {
    case "syscall": {
      const spec = SYSCALL_SPECS[e.call];
      if (!spec) return null;
      const args: Record<string, string | number> = {};
      for (const k in spec.args) {
        const [kind, dflt] = spec.args[k]!;
        const v = e.args[k];
        args[k] = render(kind, typeof v === "number" ? v : dflt);
      }
      return {
        type: e.call,
        pid: e.pid,
        mm: e.mm,
        args,
        ret: e.ret === -1 ? -1 : render(spec.ret, e.ret),
        errno: e.errno,
        before: e.before.map(vmaWire),
        after: e.after.map(vmaWire),
      };
    }
    case "fault":
      return {
        type: "fault",
        pid: e.pid,
        mm: e.mm,
        addr: hexAddr(e.addr),
        access: e.access,
        kind: faultKind(e.kind, e.major, e.result),
        detail: e.kind,
        result: e.result,
        si_code: e.code,
        pages: e.pages,
        vma: e.vma ? vmaWire(e.vma) : null,
      };
    case "vma_split":
      return { type: e.type, pid: e.pid, mm: e.mm, vma: vmaWire(e.vma), at: hexAddr(e.at) };
    case "vma_merge":
      return { type: e.type, pid: e.pid, mm: e.mm, into: vmaWire(e.into), removed: e.removed };
    case "task_new":
    case "execve":
      return { type: e.type, pid: e.pid, mm: e.mm, comm: e.comm };
    case "exit":
      return { type: e.type, pid: e.pid, mm: e.mm, comm: e.comm, status: e.status, signal: e.signal ?? null };
    case "fork":
    case "clone":
      return { type: e.type, pid: e.pid, mm: e.mm, child: e.child, flags: e.flags };
    case "mm_release":
      return { type: e.type, pid: e.pid, mm: e.mm, mm_users: e.mm_users, mm_count: e.mm_count };
    default:
      return null;
  }
}
