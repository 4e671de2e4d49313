/**
 * VM_* flags of a vm_area_struct. The low bits keep the kernel's values; the few flags whose kernel
 * bit is above 31 (DROPPABLE, SEALED, MERGEABLE, the guard marker) take bits the kernel leaves unused
 * on x86_64, so that vm_flags stays a 31-bit integer and `^`/`&` work on it directly.
 */
import {
  MAP_GROWSDOWN,
  MAP_LOCKED,
  MAP_STACK,
  MAP_SYNC,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from "../abi/mman.js";

export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_DROPPABLE = 0x200; // kernel: bit 40
export const VM_PFNMAP = 0x400;
export const VM_MAYBE_GUARD = 0x800; // "gu": MADV_GUARD_INSTALL was used on this VMA
export const VM_SEALED = 0x1000; // kernel: bit 42
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_SEQ_READ = 0x8000;
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_LOCKONFAULT = 0x80000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_SYNC = 0x800000;
export const VM_MERGEABLE = 0x1000000; // kernel: bit 31 (this bit is VM_ARCH_1/VM_PAT there)
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_SOFTDIRTY = 0x8000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;

export const VM_STACK = VM_GROWSDOWN;
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
export const VM_MAYS = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
/** Mappings the kernel never merges, never mlocks, never moves with mremap. */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
/** Flags that do not stop two VMAs from merging. */
export const VM_IGNORE_MERGE = VM_SOFTDIRTY | VM_MAYBE_GUARD;
/** VM_DATA_DEFAULT_FLAGS on x86_64 (brk, default stack without READ_IMPLIES_EXEC). */
export const VM_DATA_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
export const VM_STACK_DEFAULT_FLAGS = VM_DATA_DEFAULT_FLAGS;
export const VM_STACK_FLAGS = VM_STACK | VM_STACK_DEFAULT_FLAGS | VM_ACCOUNT;
/** What survives into a child's def_flags across fork (VM_INIT_DEF_MASK). */
export const VM_INIT_DEF_MASK = VM_NOHUGEPAGE;

/** calc_vm_prot_bits(): PROT_* -> VM_*; unknown prot bits are ignored here (mprotect validates them). */
export function calc_vm_prot_bits(prot: number): number {
  return (
    (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0)
  );
}

/** calc_vm_flag_bits(): the MAP_* flags that become VM_* flags. */
export function calc_vm_flag_bits(flags: number): number {
  return (
    (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
    (flags & MAP_LOCKED ? VM_LOCKED : 0) |
    (flags & MAP_SYNC ? VM_SYNC : 0) |
    (flags & MAP_STACK ? VM_NOHUGEPAGE : 0)
  );
}

/** /proc/PID/smaps VmFlags mnemonics, in the kernel's bit order (that is the print order). */
export const VM_FLAG_MNEMONICS: ReadonlyArray<readonly [number, string]> = [
  [VM_READ, "rd"],
  [VM_WRITE, "wr"],
  [VM_EXEC, "ex"],
  [VM_SHARED, "sh"],
  [VM_MAYREAD, "mr"],
  [VM_MAYWRITE, "mw"],
  [VM_MAYEXEC, "me"],
  [VM_MAYSHARE, "ms"],
  [VM_GROWSDOWN, "gd"],
  [VM_PFNMAP, "pf"],
  [VM_MAYBE_GUARD, "gu"],
  [VM_LOCKED, "lo"],
  [VM_IO, "io"],
  [VM_SEQ_READ, "sr"],
  [VM_RAND_READ, "rr"],
  [VM_DONTCOPY, "dc"],
  [VM_DONTEXPAND, "de"],
  [VM_LOCKONFAULT, "lf"],
  [VM_ACCOUNT, "ac"],
  [VM_NORESERVE, "nr"],
  [VM_HUGETLB, "ht"],
  [VM_SYNC, "sf"],
  [VM_WIPEONFORK, "wf"],
  [VM_DONTDUMP, "dd"],
  [VM_SOFTDIRTY, "sd"],
  [VM_MIXEDMAP, "mm"],
  [VM_HUGEPAGE, "hg"],
  [VM_NOHUGEPAGE, "nh"],
  [VM_MERGEABLE, "mg"],
  [VM_DROPPABLE, "dp"],
  [VM_SEALED, "sl"],
];

/** The kernel's names, for JSON views and messages. */
export const VM_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [VM_READ, "VM_READ"],
  [VM_WRITE, "VM_WRITE"],
  [VM_EXEC, "VM_EXEC"],
  [VM_SHARED, "VM_SHARED"],
  [VM_MAYREAD, "VM_MAYREAD"],
  [VM_MAYWRITE, "VM_MAYWRITE"],
  [VM_MAYEXEC, "VM_MAYEXEC"],
  [VM_MAYSHARE, "VM_MAYSHARE"],
  [VM_GROWSDOWN, "VM_GROWSDOWN"],
  [VM_PFNMAP, "VM_PFNMAP"],
  [VM_LOCKED, "VM_LOCKED"],
  [VM_IO, "VM_IO"],
  [VM_SEQ_READ, "VM_SEQ_READ"],
  [VM_RAND_READ, "VM_RAND_READ"],
  [VM_DONTCOPY, "VM_DONTCOPY"],
  [VM_DONTEXPAND, "VM_DONTEXPAND"],
  [VM_LOCKONFAULT, "VM_LOCKONFAULT"],
  [VM_ACCOUNT, "VM_ACCOUNT"],
  [VM_NORESERVE, "VM_NORESERVE"],
  [VM_HUGETLB, "VM_HUGETLB"],
  [VM_SYNC, "VM_SYNC"],
  [VM_WIPEONFORK, "VM_WIPEONFORK"],
  [VM_DONTDUMP, "VM_DONTDUMP"],
  [VM_SOFTDIRTY, "VM_SOFTDIRTY"],
  [VM_MIXEDMAP, "VM_MIXEDMAP"],
  [VM_HUGEPAGE, "VM_HUGEPAGE"],
  [VM_NOHUGEPAGE, "VM_NOHUGEPAGE"],
  [VM_MERGEABLE, "VM_MERGEABLE"],
  [VM_DROPPABLE, "VM_DROPPABLE"],
  [VM_SEALED, "VM_SEALED"],
  [VM_MAYBE_GUARD, "VM_MAYBE_GUARD"],
];

export function vmFlagMnemonics(flags: number): string {
  let s = "";
  for (const [bit, name] of VM_FLAG_MNEMONICS) if (flags & bit) s += `${name} `;
  return s;
}

export function vmFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of VM_FLAG_NAMES) if (flags & bit) out.push(name);
  return out;
}

/** is_data_mapping / is_exec_mapping / is_stack_mapping: which *_vm counter a VMA feeds. */
export function is_data_mapping(flags: number): boolean {
  return (flags & (VM_WRITE | VM_SHARED | VM_STACK)) === VM_WRITE;
}
export function is_exec_mapping(flags: number): boolean {
  return (flags & (VM_EXEC | VM_WRITE | VM_STACK)) === VM_EXEC;
}
export function is_stack_mapping(flags: number): boolean {
  return (flags & VM_STACK) === VM_STACK;
}
export function is_shared_mapping(flags: number): boolean {
  // vm_stat_account counts shared_vm for VM_SHARED mappings that are not stack (mm/mmap.c).
  return (flags & VM_SHARED) !== 0;
}

/** x86 protection_map index and the pgprot value it selects (what vm_page_prot holds). */
const PROTECTION_MAP: readonly string[] = [
  // private: ---, r--, -w-, rw-, --x, r-x, -wx, rwx  (write is COW: no _PAGE_RW)
  "0x8000000000000020",
  "0x8000000000000025",
  "0x8000000000000025",
  "0x8000000000000025",
  "0x0000000000000025",
  "0x0000000000000025",
  "0x0000000000000025",
  "0x0000000000000025",
  // shared
  "0x8000000000000020",
  "0x8000000000000025",
  "0x8000000000000027",
  "0x8000000000000027",
  "0x0000000000000025",
  "0x0000000000000025",
  "0x0000000000000027",
  "0x0000000000000027",
];

export function vm_get_page_prot(flags: number): string {
  const idx = (flags & (VM_READ | VM_WRITE | VM_EXEC)) | (flags & VM_SHARED ? 8 : 0);
  return PROTECTION_MAP[idx]!;
}
