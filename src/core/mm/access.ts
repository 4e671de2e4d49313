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
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
} from "./fault.js";
import { PTE_DIRTY, PTE_PRESENT, PTE_SPECIAL, PTE_WRITE, PTE_YOUNG, PTRS_PER_PTE } from "./page_table.js";
import { type mm_struct, type vm_area_struct, vma_fact } from "./types.js";
import { VM_ACCESS_FLAGS, VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_WRITE } from "./vm_flags.js";
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

export interface AccessResult {
  /** Bytes read (reads and execs), up to the fault if there was one. */
  data: Uint8Array;
  /** Bytes actually transferred before a signal (or the whole length). */
  done: number;
  minor: number;
  major: number;
  signal?: SignalInfo;
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

/**
 * Fault in (if needed) the page at addr for the access and return its PTE slot, or a signal.
 * Counts faults on the task.
 */
function fault_in_page(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  addr: number,
  kind: AccessKind,
  counts: { minor: number; major: number },
): { pfn: number; special: boolean; fault: FaultResult | null } | SignalInfo {
  if (addr >= NON_CANONICAL || (addr < 0 && addr < KERNEL_HALF)) {
    // Non-canonical: #GP, no address.
    return { signo: "SIGSEGV", code: "SI_KERNEL", addr: 0 };
  }
  if (addr < 0) return { signo: "SIGSEGV", code: "SEGV_MAPERR", addr };
  const page = addr - (addr % PAGE_SIZE);
  let vma = find_vma(mm, addr);
  if (!vma) return { signo: "SIGSEGV", code: "SEGV_MAPERR", addr };
  if (vma.vm_start > addr) {
    if (!(vma.vm_flags & VM_GROWSDOWN) || !expand_downwards(m, task, mm, vma, page)) {
      return { signo: "SIGSEGV", code: "SEGV_MAPERR", addr };
    }
    vma = find_vma(mm, addr)!;
  }
  const denied = access_error(m, vma, kind);
  if (denied) return { signo: "SIGSEGV", code: denied, addr };
  const write = kind === "write";
  const vpn = page / PAGE_SIZE;
  let t = mm.pgd.table(vpn);
  const i = vpn % PTRS_PER_PTE;
  let bits = t ? t.bits[i]! : 0;
  let fault: FaultResult | null = null;
  if (!(bits & PTE_PRESENT) || (write && !(bits & PTE_WRITE))) {
    const r = handle_mm_fault(m, mm, vma, page, write);
    fault = r;
    if (r.code & VM_FAULT_SIGSEGV) return { signo: "SIGSEGV", code: "SEGV_MAPERR", addr };
    if (r.code & VM_FAULT_SIGBUS) return { signo: "SIGBUS", code: "BUS_ADRERR", addr };
    if (r.code & VM_FAULT_HWPOISON) return { signo: "SIGBUS", code: "BUS_MCEERR_AR", addr };
    if (r.code & VM_FAULT_MAJOR) {
      task.maj_flt++;
      counts.major++;
    } else {
      task.min_flt++;
      counts.minor++;
    }
    t = mm.pgd.table(vpn)!;
    bits = t.bits[i]!;
  }
  // The CPU sets the accessed bit, and the dirty bit on a write.
  t!.bits[i] = bits | PTE_YOUNG | (write ? PTE_DIRTY : 0);
  return { pfn: t!.pfn[i]!, special: (bits & PTE_SPECIAL) !== 0, fault };
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
  const mm = task.mm!;
  const counts = { minor: 0, major: 0 };
  const out = new Uint8Array(kind === "write" ? 0 : len);
  let done = 0;
  while (done < len) {
    const a = addr + done;
    const r = fault_in_page(m, task, mm, a, kind, counts);
    if (m.sink && ("signo" in r || r.fault)) {
      const v = mm.mm_mt.lookup(a);
      const f = "signo" in r ? null : r.fault!;
      m.emit({
        type: "fault",
        pid: task.pid,
        mm: mm.id,
        addr: a,
        access: kind,
        kind: f ? f.kind : "none",
        result: "signo" in r ? r.signo : "ok",
        code: "signo" in r ? r.code : null,
        major: f ? (f.code & VM_FAULT_MAJOR) !== 0 : false,
        pages: f ? f.mapped : 0,
        vma: v ? vma_fact(v) : null,
      });
    }
    if ("signo" in r) return { data: out.subarray(0, done), done, ...counts, signal: r };
    const off = a % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, len - done);
    if (kind === "write") {
      // Zeros written to a page that holds none cost nothing.
      let any = m.frames.data[r.pfn] !== undefined;
      for (let k = 0; !any && data && k < n; k++) any = data[(done + k) % data.length] !== 0;
      if (any) {
        const dst = m.frames.bytes(r.pfn);
        for (let k = 0; k < n; k++) dst[off + k] = data ? data[(done + k) % data.length]! : 0;
      }
    } else {
      const src = r.special ? undefined : m.frames.data[r.pfn];
      if (src) out.set(src.subarray(off, off + n), done);
    }
    done += n;
  }
  return { data: out, done, ...counts };
}
