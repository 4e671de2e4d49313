/**
 * A task touching its memory: the x86 page-fault path (arch/x86/mm/fault.c do_user_addr_fault)
 * around handle_mm_fault(), with stack expansion, permission checks, signals and si_codes, and the
 * bytes themselves. The access stops at the first signal, as a load or store would, and reports it
 * (the task survives, as if a handler caught the signal).
 */
import { PAGE_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import type { task_struct } from "../task/task.js";
import { may_expand_vm, mlock_future_ok, security_vm_enough_memory, vm_stat_account } from "./accounting.js";
import {
  anon_vma_prepare,
  type FaultResult,
  handle_mm_fault,
  VM_FAULT_HWPOISON,
  VM_FAULT_MAJOR,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
} from "./fault.js";
import { PTE_DIRTY, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, PTE_YOUNG, pte_pfn } from "./page_table.js";
import { type mm_struct, type vm_area_struct, vma_fact } from "./types.js";
import { VM_ACCESS_FLAGS, VM_ACCOUNT, VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_WRITE } from "./vm_flags.js";
import { find_vma } from "./vma.js";

export type AccessKind = "read" | "write" | "exec";

export type SigCode =
  | "SEGV_MAPERR"
  | "SEGV_ACCERR"
  | "SEGV_PKUERR"
  | "SI_KERNEL"
  | "BUS_ADRERR"
  | "BUS_MCEERR_AR";

export interface SignalInfo {
  signo: "SIGSEGV" | "SIGBUS";
  code: SigCode;
  /** si_addr (0 for SI_KERNEL, as a #GP gives no address). */
  addr: number;
}

/**
 * What the OOM killer did to an access whose fault found no memory: "killed", the task itself was
 * chosen (with its thread group and every task sharing its mm: it is gone); "no_victim", nothing
 * could be reclaimed or killed (Linux would panic), and the access stopped with nothing changed.
 */
export type OomOutcome = "killed" | "no_victim";

export interface AccessResult {
  /** Bytes read (reads and execs), up to the fault if there was one. */
  data: Uint8Array;
  /** Bytes actually transferred before a signal (or the whole length). */
  done: number;
  minor: number;
  major: number;
  signal?: SignalInfo;
  /** The access stopped because memory ran out (see OomOutcome). */
  oom?: OomOutcome;
}

/** The lowest non-canonical address with 4-level paging, and the start of the kernel half. */
const NON_CANONICAL = 2 ** 47;
const KERNEL_HALF = -(2 ** 47); // 0xffff800000000000 in the two's-complement representation

/**
 * expand_downwards(): grow a VM_GROWSDOWN VMA down to addr (page aligned). Refused below
 * mmap_min_addr, within the guard gap of an accessible non-growsdown neighbour, past RLIMIT_STACK
 * or RLIMIT_AS, the memlock limit, or the commit limit.
 */
export function expand_downwards(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  vma: vm_area_struct,
  addr: number,
): boolean {
  if (addr < m.profile.mmapMinAddr) return false;
  const prev = mm.mm_mt.prev(vma);
  if (prev && !(prev.vm_flags & VM_GROWSDOWN) && prev.vm_flags & VM_ACCESS_FLAGS) {
    if (addr - prev.vm_end < mm.stack_guard_gap) return false;
  }
  if (prev && prev.vm_end > addr) return false;
  anon_vma_prepare(m, vma);
  const size = vma.vm_end - addr;
  const grow = (vma.vm_start - addr) / PAGE_SIZE;
  if (grow > vma.vm_pgoff) return false;
  // acct_stack_growth()
  if (!may_expand_vm(task, mm, vma.vm_flags, grow)) return false;
  if (size > task.rlimits.STACK) return false;
  if (!mlock_future_ok(task, mm, vma.vm_flags, grow * PAGE_SIZE)) return false;
  if (!security_vm_enough_memory(m, task, mm, grow)) return false;
  if (!(vma.vm_flags & VM_ACCOUNT)) m.vm_committed_unaccounted += grow;
  if (vma.vm_flags & VM_LOCKED) mm.locked_vm += grow;
  vm_stat_account(mm, vma.vm_flags, grow);
  vma.vm_start = addr;
  vma.vm_pgoff -= grow;
  mm.mm_mt.update(vma);
  return true;
}

/** access_error(): does the VMA allow this access? (x86: write implies read, exec implies read) */
function access_error(m: Machine, vma: vm_area_struct, kind: AccessKind): SigCode | null {
  const f = vma.vm_flags;
  if (kind === "write") return f & VM_WRITE ? null : "SEGV_ACCERR";
  if (kind === "exec") return f & VM_EXEC ? null : "SEGV_ACCERR";
  if (!(f & VM_ACCESS_FLAGS)) return "SEGV_ACCERR";
  // With protection keys, PROT_EXEC alone is execute-only: reads fault with SEGV_PKUERR.
  if (m.profile.pku && (f & VM_ACCESS_FLAGS) === VM_EXEC) return "SEGV_PKUERR";
  return null;
}

/** What one page's fault-in did: the frame to access, or the signal; the fault, if one was taken. */
interface PageAccess {
  pfn: number;
  special: boolean;
  signal: SignalInfo | null;
  oom: OomOutcome | null;
  /** Whether a fault was taken, and its outcome (one object reused for every page). */
  faulted: boolean;
  fault: FaultResult;
  /** Faults taken so far by the whole access. */
  minor: number;
  major: number;
}

/**
 * Fault in (if needed) the page at addr for the access: sets `out` to the frame to access, or to
 * the signal. Counts faults on the task and in `out`.
 */
function fault_in_page(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  addr: number,
  kind: AccessKind,
  out: PageAccess,
): void {
  out.faulted = false;
  out.signal = null;
  out.oom = null;
  if (addr >= NON_CANONICAL || (addr < 0 && addr < KERNEL_HALF)) {
    // Non-canonical: #GP, no address.
    out.signal = { signo: "SIGSEGV", code: "SI_KERNEL", addr: 0 };
    return;
  }
  if (addr < 0) {
    out.signal = { signo: "SIGSEGV", code: "SEGV_MAPERR", addr };
    return;
  }
  const page = addr - (addr % PAGE_SIZE);
  let vma = find_vma(mm, addr);
  if (!vma) {
    out.signal = { signo: "SIGSEGV", code: "SEGV_MAPERR", addr };
    return;
  }
  if (vma.vm_start > addr) {
    if (!(vma.vm_flags & VM_GROWSDOWN) || !expand_downwards(m, task, mm, vma, page)) {
      out.signal = { signo: "SIGSEGV", code: "SEGV_MAPERR", addr };
      return;
    }
    vma = find_vma(mm, addr)!;
  }
  const write = kind === "write";
  const vpn = page / PAGE_SIZE;
  const pgd = mm.pgd;
  let slot = pgd.slot(vpn);
  let pte = slot < 0 ? 0 : pgd.ent[slot]!;
  let denied = access_error(m, vma, kind);
  // x86's access_error() has no rule for instruction fetches: a fetch from a page that is not
  // present is handled as a read fault (the page is faulted in and counted), and only the retried
  // fetch hits the NX bit (observed: the first call into an untouched rw- page costs a minor
  // fault, then SEGV_ACCERR; a second call, none).
  let nx = false;
  if (denied && kind === "exec" && !(pte & PTE_PRESENT) && !access_error(m, vma, "read")) {
    nx = true;
    denied = null;
  }
  if (denied) {
    out.signal = { signo: "SIGSEGV", code: denied, addr };
    return;
  }
  if (!(pte & PTE_PRESENT) || (write && !(pte & PTE_WRITE))) {
    const r = handle_mm_fault(m, mm, vma, page, write, out.fault);
    if (r.code & VM_FAULT_OOM) {
      out.oom = task.state === "running" ? "no_victim" : "killed";
      return;
    }
    out.faulted = true;
    if (r.code & VM_FAULT_SIGSEGV) {
      out.signal = { signo: "SIGSEGV", code: "SEGV_MAPERR", addr };
      return;
    }
    if (r.code & VM_FAULT_SIGBUS) {
      out.signal = { signo: "SIGBUS", code: "BUS_ADRERR", addr };
      return;
    }
    if (r.code & VM_FAULT_HWPOISON) {
      out.signal = { signo: "SIGBUS", code: "BUS_MCEERR_AR", addr };
      return;
    }
    m.vm_events.pgfault++;
    if (r.code & VM_FAULT_MAJOR) {
      task.maj_flt++;
      m.vm_events.pgmajfault++;
      out.major++;
    } else {
      task.min_flt++;
      out.minor++;
    }
    slot = pgd.slot(vpn);
    pte = pgd.ent[slot]!;
  }
  if (nx) {
    out.signal = { signo: "SIGSEGV", code: "SEGV_ACCERR", addr };
    return;
  }
  // The CPU sets the accessed bit, and the dirty bit on a write.
  pgd.ent[slot] = pte | PTE_YOUNG | (write ? PTE_DIRTY : 0);
  out.pfn = pte_pfn(pte);
  out.special = (pte & PTE_SPECIAL) !== 0;
  // The "lru" replacement policy orders pages by their last access.
  if (m.frames.lruvec.policy === "lru" && !out.special) m.frames.lruvec.touch(out.pfn);
}

/**
 * A read, write or instruction fetch of [addr, addr+len) by the task. Writes store `data`
 * (repeated if shorter than len). Returns the bytes read, fault counts and the signal, if any.
 */
export function access_vm(
  m: Machine,
  task: task_struct,
  addr: number,
  len: number,
  kind: AccessKind,
  data?: Uint8Array,
): AccessResult {
  task.assert_runnable();
  const mm = task.mm!;
  const out = kind === "write" ? NO_BYTES : new Uint8Array(len);
  const pa: PageAccess = {
    pfn: 0,
    special: false,
    signal: null,
    oom: null,
    faulted: false,
    fault: { code: 0, kind: "none", mapped: 0 },
    minor: 0,
    major: 0,
  };
  const f = m.frames;
  let done = 0;
  while (done < len) {
    const a = addr + done;
    fault_in_page(m, task, mm, a, kind, pa);
    if (pa.oom) return { data: out.subarray(0, done), done, minor: pa.minor, major: pa.major, oom: pa.oom };
    if (m.sink && (pa.signal || pa.faulted)) {
      const v = mm.mm_mt.lookup(a);
      const fr = pa.signal ? null : pa.fault;
      m.emit({
        type: "fault",
        pid: task.pid,
        mm: mm.id,
        addr: a,
        access: kind,
        kind: fr ? fr.kind : "none",
        result: pa.signal ? pa.signal.signo : "ok",
        code: pa.signal ? pa.signal.code : null,
        major: fr ? (fr.code & VM_FAULT_MAJOR) !== 0 : false,
        pages: fr ? fr.mapped : 0,
        vma: v ? vma_fact(v) : null,
      });
    }
    if (pa.signal)
      return { data: out.subarray(0, done), done, minor: pa.minor, major: pa.major, signal: pa.signal };
    const off = a % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, len - done);
    if (kind === "write") {
      // Zeros written to a page that holds none cost nothing.
      if (data) f.write(pa.pfn, off, n, data, done);
      else f.zero(pa.pfn, off, n);
    } else if (!pa.special) f.read(pa.pfn, off, n, out, done);
    done += n;
  }
  return { data: out, done, minor: pa.minor, major: pa.major };
}

const NO_BYTES = new Uint8Array(0);
