/**
 * The core's facts (core/events.ts) in their wire form (wire.ts), written straight to JSON text:
 * syscall facts become an event named after the call, addresses become lowercase hex strings, fault
 * kinds are folded into minor/major/cow/zero/swapin. A fact the catalogue does not know yields null
 * (the hub counts and skips it): a new core fact never breaks delivery, it just is not streamed
 * until it is catalogued.
 *
 * The text is written by hand rather than by JSON.stringify of an object: that costs a third as
 * much, and it is paid once per event on the core's path. Strings that come from outside the
 * encoder (file names, comm, errno and si_code names) still go through JSON.stringify; tests parse
 * every kind of event and validate it against the catalogue.
 */
import type { CoreEvent, VmaFact } from "../core/events.js";
import { VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE, vmFlagMnemonics } from "../core/mm/vm_flags.js";
import { type ArgKind, hex, SYSCALL_EVENTS, type SyscallEventSpec } from "./wire.js";

const SYSCALL_SPECS: Readonly<Record<string, SyscallEventSpec | undefined>> = SYSCALL_EVENTS;

/** An event's type and its JSON text without seq, time and machine (the hub prepends those). */
export interface EncodedFact {
  type: string;
  /** The members after seq, time and machine: `"type":…,"pid":…,…}` (the closing brace included). */
  tail: string;
}

/** `"perms":"rw-p","vm_flags":[…]` per vm_flags value (few distinct values occur). */
const flagsText = new Map<number, string>();
function flagsJson(f: number): string {
  let t = flagsText.get(f);
  if (t === undefined) {
    const perms =
      (f & VM_READ ? "r" : "-") +
      (f & VM_WRITE ? "w" : "-") +
      (f & VM_EXEC ? "x" : "-") +
      (f & VM_MAYSHARE ? "s" : "p");
    const mnemonics = vmFlagMnemonics(f).split(" ").filter(Boolean);
    t = `"perms":"${perms}","vm_flags":${JSON.stringify(mnemonics)}`;
    if (flagsText.size < 4096) flagsText.set(f, t);
  }
  return t;
}

const str = (s: string | null) => (s === null ? "null" : JSON.stringify(s));
/** A number as JSON; anything else is a broken fact (thrown, so the hub skips it rather than send bad JSON). */
function num(n: number): number {
  if (!Number.isFinite(n)) throw new TypeError(`not a number in a fact: ${String(n)}`);
  return n;
}
const int = (n: number | null) => (n === null ? "null" : String(num(n)));

/** A VMA as the catalogue's EventVma. */
export function vmaJson(v: VmaFact): string {
  return `{"vm_start":"${hex(v.start)}","vm_end":"${hex(v.end)}",${flagsJson(v.flags)},"vm_pgoff":${num(v.pgoff)},"file":${str(v.file)},"anon_vma":${int(v.anon_vma)}}`;
}

const vmaList = (vs: readonly VmaFact[]) => `[${vs.map(vmaJson).join(",")}]`;

const render = (kind: ArgKind, v: number) => (kind === "address" ? `"${hex(v)}"` : String(num(v)));

/**
 * The fault handler's kind folded into the catalogue's: a swap-in first,
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

const head = (type: string, e: { pid: number; mm: number }) =>
  `"type":${JSON.stringify(type)},"pid":${num(e.pid)},"mm":${num(e.mm)}`;

/** The wire text of a fact, or null when the catalogue has no type for it. */
export function encodeFact(e: CoreEvent): EncodedFact | null {
  switch (e.type) {
    case "fault": {
      const kind = faultKind(e.kind, e.major, e.result);
      return {
        type: "fault",
        tail: `${head("fault", e)},"addr":"${hex(e.addr)}","access":${str(e.access)},"kind":${str(kind)},"detail":${str(e.kind)},"result":${str(e.result)},"si_code":${str(e.code)},"pages":${num(e.pages)},"vma":${e.vma ? vmaJson(e.vma) : "null"}}`,
      };
    }
    case "syscall": {
      const spec = SYSCALL_SPECS[e.call];
      if (!spec) return null;
      const args: string[] = [];
      for (const k in spec.args) {
        const [kind, dflt] = spec.args[k]!;
        const v = e.args[k];
        args.push(`"${k}":${render(kind, typeof v === "number" ? v : dflt)}`);
      }
      const ret = e.ret === -1 ? "-1" : render(spec.ret, e.ret);
      return {
        type: e.call,
        tail: `${head(e.call, e)},"args":{${args.join(",")}},"ret":${ret},"errno":${str(e.errno)},"before":${vmaList(e.before)},"after":${vmaList(e.after)}}`,
      };
    }
    case "vma_split":
      return { type: e.type, tail: `${head(e.type, e)},"vma":${vmaJson(e.vma)},"at":"${hex(e.at)}"}` };
    case "vma_merge":
      return {
        type: e.type,
        tail: `${head(e.type, e)},"into":${vmaJson(e.into)},"removed":${num(e.removed)}}`,
      };
    case "task_new":
    case "execve":
      return { type: e.type, tail: `${head(e.type, e)},"comm":${str(e.comm)}}` };
    case "exit":
      return {
        type: e.type,
        tail: `${head(e.type, e)},"comm":${str(e.comm)},"status":${num(e.status)},"signal":${int(e.signal ?? null)}}`,
      };
    case "fork":
    case "clone":
      return { type: e.type, tail: `${head(e.type, e)},"child":${num(e.child)},"flags":${num(e.flags)}}` };
    case "mm_release":
      return {
        type: e.type,
        tail: `${head(e.type, e)},"mm_users":${num(e.mm_users)},"mm_count":${num(e.mm_count)}}`,
      };
    case "reclaim":
      return {
        type: e.type,
        tail: `${head(e.type, e)},"mode":${str(e.mode)},"policy":${str(e.policy)},"scanned":${num(e.scanned)},"reclaimed":${num(e.reclaimed)},"anon":${num(e.anon)},"file":${num(e.file)},"swapped":${num(e.swapped)},"written":${num(e.written)},"free":${num(e.free)}}`,
      };
    case "swap_out":
      return {
        type: e.type,
        tail: `${head(e.type, e)},"addr":${e.addr === null ? "null" : `"${hex(e.addr)}"`},"slot":${num(e.slot)},"mapped":${num(e.mapped)},"written":${e.written}}`,
      };
    case "swap_in":
      return {
        type: e.type,
        tail: `${head(e.type, e)},"addr":"${hex(e.addr)}","slot":${num(e.slot)},"major":${e.major}}`,
      };
    case "writeback":
      return { type: e.type, tail: `${head(e.type, e)},"file":${str(e.file)},"index":${num(e.index)}}` };
    case "oom_kill":
      return {
        type: e.type,
        tail: `${head(e.type, e)},"comm":${str(e.comm)},"points":${num(e.points)},"oom_score_adj":${num(e.oom_score_adj)},"total_vm":${num(e.total_vm)},"anon_rss":${num(e.anon_rss)},"file_rss":${num(e.file_rss)},"shmem_rss":${num(e.shmem_rss)},"swapents":${num(e.swapents)},"pgtables":${num(e.pgtables)},"killed":[${e.killed.map(num).join(",")}],"trigger":${num(e.trigger)}}`,
      };
    default:
      return null;
  }
}
