/**
 * The memory files of /proc/PID as fs/proc/task_mmu.c and fs/proc/array.c print them, byte for
 * byte (maps, smaps, smaps_rollup, the status memory lines, statm), computed from the VMA set,
 * the page tables and the frame table; plus JSON-friendly views under the kernel's field names.
 */
import { PAGE_SHIFT, PAGE_SIZE, PMD_SIZE } from "../abi/mman.js";
import type { Machine } from "../machine.js";
import { PG_anon, PG_dirty, PG_lazyfree, PG_referenced, PG_swapbacked } from "../mem/frames.js";
import { PTE_DIRTY, PTE_GUARD, PTE_PRESENT, PTE_SPECIAL, PTE_SWAP, PTE_YOUNG } from "./page_table.js";
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  MMF_DISABLE_THP,
  type mm_struct,
  type vm_area_struct,
} from "./types.js";
import {
  VM_EXEC,
  VM_HUGEPAGE,
  VM_IO,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_READ,
  VM_WRITE,
  vmFlagMnemonics,
  vmFlagNames,
} from "./vm_flags.js";

/** PSS accumulates in fixed point (bytes << PSS_SHIFT), so 1/mapcount shares are truncated once, when printed. */
const PSS_SHIFT = 12;
const PSS_ONE = PAGE_SIZE * 2 ** PSS_SHIFT;
/** seq_setwidth(m, 25 + sizeof(void *) * 6 - 1): names start after this column plus one space. */
const NAME_COLUMN = 25 + 8 * 6 - 1;

export interface ShowMapsOptions {
  /** Print the gate VMA ([vsyscall]) last, as x86_64 does (vsyscall=xonly). Default true. */
  vsyscall?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Number formatting (seq_put_hex_ll, seq_put_decimal_ull_width)

/** Lower-case hex, zero-padded to `width` (seq_put_hex_ll). */
function hexw(x: number | bigint, width: number): string {
  const s = typeof x === "bigint" ? BigInt.asUintN(64, x).toString(16) : x.toString(16);
  return s.padStart(width, "0");
}

/** A decimal right-aligned in `width` columns (seq_put_decimal_ull_width pads with spaces). */
function decw(x: number, width: number): string {
  return String(x).padStart(width, " ");
}

/** Bytes to kB, truncating like `>> 10`. */
function kb(bytes: number): number {
  return Math.floor(bytes / 1024);
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/maps

/** show_vma_header_prefix(): everything up to and including the space after the inode. */
function vma_header_prefix(
  start: number | bigint,
  end: number | bigint,
  flags: number,
  pgoff: bigint,
  dev: readonly [number, number],
  ino: number,
): string {
  return (
    `${hexw(start, 8)}-${hexw(end, 8)} ` +
    (flags & VM_READ ? "r" : "-") +
    (flags & VM_WRITE ? "w" : "-") +
    (flags & VM_EXEC ? "x" : "-") +
    (flags & VM_MAYSHARE ? "s" : "p") +
    ` ${hexw(pgoff, 8)} ${hexw(dev[0], 2)}:${hexw(dev[1], 2)} ${ino} `
  );
}

/** seq_pad(m, ' ') then the name: pad to the name column, then one space. */
function with_name(prefix: string, name: string | null): string {
  if (name === null) return `${prefix}\n`;
  return `${prefix.padEnd(NAME_COLUMN, " ")} ${name}\n`;
}

/** seq_path() escapes the newline (the only character it is asked to escape) as octal. */
function mangle_path(p: string): string {
  return p.replaceAll("\n", "\\012");
}

/** get_vma_name(): the file path (d_path, " (deleted)" when unlinked), a special name, [heap], [stack]. */
export function vma_name(vma: vm_area_struct): string | null {
  const file = vma.vm_file;
  if (file) {
    const inode = file.inode;
    return mangle_path(inode.path) + (inode.unlinked ? " (deleted)" : "");
  }
  if (vma.special) return vma.special;
  const mm = vma.vm_mm;
  if (vma.vm_start < mm.brk && vma.vm_end > mm.start_brk) return "[heap]";
  if (vma.vm_start <= mm.start_stack && vma.vm_end >= mm.start_stack) return "[stack]";
  return null;
}

/** One line of /proc/PID/maps (show_map_vma), newline included. */
export function show_map_vma(vma: vm_area_struct): string {
  const file = vma.vm_file;
  // The offset column is vm_pgoff << 12 for every VMA with a file (shmem too: a split shows it).
  const pgoff = file ? BigInt(vma.vm_pgoff) << BigInt(PAGE_SHIFT) : 0n;
  const prefix = vma_header_prefix(
    vma.vm_start,
    vma.vm_end,
    vma.vm_flags,
    pgoff,
    file ? file.inode.dev : [0, 0],
    file ? file.inode.i_ino : 0,
  );
  return with_name(prefix, vma_name(vma));
}

/** The x86_64 gate VMA (vsyscall=xonly): execute-only, no mm, not counted in map_count. */
const GATE_START = 0xffffffffff600000n;
const GATE_END = 0xffffffffff601000n;
const GATE_FLAGS = VM_EXEC;

function show_gate_vma(): string {
  return with_name(vma_header_prefix(GATE_START, GATE_END, GATE_FLAGS, 0n, [0, 0], 0), "[vsyscall]");
}

/** /proc/PID/maps. A task without an mm (exited, kernel thread) reads as empty. */
export function show_maps(_m: Machine, mm: mm_struct | null, opts: ShowMapsOptions = {}): string {
  if (!mm) return "";
  let out = "";
  for (const v of mm.mm_mt) out += show_map_vma(v);
  if (opts.vsyscall ?? true) out += show_gate_vma();
  return out;
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/smaps and smaps_rollup

/** struct mem_size_stats: byte counts; the pss* fields are fixed point (bytes << PSS_SHIFT). */
export interface MemSizeStats {
  resident: number;
  shared_clean: number;
  shared_dirty: number;
  private_clean: number;
  private_dirty: number;
  referenced: number;
  anonymous: number;
  lazyfree: number;
  anonymous_thp: number;
  shmem_thp: number;
  file_thp: number;
  swap: number;
  shared_hugetlb: number;
  private_hugetlb: number;
  ksm: number;
  pss: number;
  pss_anon: number;
  pss_file: number;
  pss_shmem: number;
  pss_dirty: number;
  pss_locked: number;
  swap_pss: number;
}

export function empty_mem_size_stats(): MemSizeStats {
  return {
    resident: 0,
    shared_clean: 0,
    shared_dirty: 0,
    private_clean: 0,
    private_dirty: 0,
    referenced: 0,
    anonymous: 0,
    lazyfree: 0,
    anonymous_thp: 0,
    shmem_thp: 0,
    file_thp: 0,
    swap: 0,
    shared_hugetlb: 0,
    private_hugetlb: 0,
    ksm: 0,
    pss: 0,
    pss_anon: 0,
    pss_file: 0,
    pss_shmem: 0,
    pss_dirty: 0,
    pss_locked: 0,
    swap_pss: 0,
  };
}

/**
 * smap_gather_stats() for one VMA, added into `mss`: smaps_pte_entry + smaps_account per PTE.
 * A page whose only reference is this PTE (refcount 1) is private with a full share; otherwise
 * the precise mapcount decides (>= 2: shared, PSS divided by it).
 */
export function smap_gather_stats(
  m: Machine,
  vma: vm_area_struct,
  mss: MemSizeStats = empty_mem_size_stats(),
): MemSizeStats {
  const f = m.frames;
  const locked = (vma.vm_flags & VM_LOCKED) !== 0;
  // vm_normal_page() finds no struct page in PFN/IO mappings ([vvar]).
  const normal = !(vma.vm_flags & (VM_PFNMAP | VM_IO));
  const pgd = vma.vm_mm.pgd;
  pgd.forEach(vma.vm_start / PAGE_SIZE, vma.vm_end / PAGE_SIZE, (_vpn, slot) => {
    const pte = pgd.ent[slot]!;
    const bits = pte & 0xff;
    // Guard markers are neither pages nor swap. (Linux counts a hwpoison entry's page as resident;
    // the simulator frees that page, so PTE_HWPOISON falls through to "not present" below.)
    if (bits & PTE_GUARD) return;
    if (bits & PTE_SWAP) {
      // SwapPss: the slot's share, divided among the swap entries that refer to it (swp_swapcount).
      mss.swap += PAGE_SIZE;
      const count = m.swap.swap_map[pte >>> 8]!;
      mss.swap_pss += count >= 2 ? Math.floor(PSS_ONE / count) : PSS_ONE;
      return;
    }
    if (!(bits & PTE_PRESENT) || bits & PTE_SPECIAL || !normal) return; // the zero page has no RSS
    const pfn = pte >>> 8;
    const pf = f.flags[pfn]!;
    const young = (bits & PTE_YOUNG) !== 0;
    const dirty = (bits & PTE_DIRTY) !== 0;
    const anon = (pf & PG_anon) !== 0;
    if (anon) {
      mss.anonymous += PAGE_SIZE;
      // The kernel's test is !swapbacked after MADV_FREE; PG_lazyfree is the simulator's mark for it.
      if ((pf & PG_lazyfree || !(pf & PG_swapbacked)) && !dirty && !(pf & PG_dirty))
        mss.lazyfree += PAGE_SIZE;
    }
    mss.resident += PAGE_SIZE;
    if (young || pf & PG_referenced) mss.referenced += PAGE_SIZE;
    let pss = PSS_ONE;
    let exclusive = true;
    if (f._refcount[pfn] !== 1) {
      const mapcount = f.mapcount[pfn]!;
      exclusive = mapcount < 2;
      if (mapcount >= 2) pss = Math.floor(PSS_ONE / mapcount);
    }
    // smaps_page_accumulate()
    mss.pss += pss;
    if (anon) mss.pss_anon += pss;
    else if (pf & PG_swapbacked) mss.pss_shmem += pss;
    else mss.pss_file += pss;
    if (locked) mss.pss_locked += pss;
    if (dirty || pf & PG_dirty) {
      mss.pss_dirty += pss;
      if (exclusive) mss.private_dirty += PAGE_SIZE;
      else mss.shared_dirty += PAGE_SIZE;
    } else if (exclusive) mss.private_clean += PAGE_SIZE;
    else mss.shared_clean += PAGE_SIZE;
  });
  return mss;
}

/** Pss values print as (pss >> PSS_SHIFT) >> 10. */
function pss_kb(pss: number): number {
  return kb(Math.floor(pss / 2 ** PSS_SHIFT));
}

/** A "%-16s%8lu kB" line; values wider than 8 digits push " kB" right, as in the kernel. */
function kbline(key: string, bytes: number): string {
  return `${key.padEnd(16, " ")}${decw(kb(bytes), 8)} kB\n`;
}

/** __show_smap(): the per-VMA and rollup body; rollup adds the Pss split by page type. */
function show_smap_body(mss: MemSizeStats, rollup: boolean): string {
  let s = kbline("Rss:", mss.resident);
  s += `Pss:            ${decw(pss_kb(mss.pss), 8)} kB\n`;
  s += `Pss_Dirty:      ${decw(pss_kb(mss.pss_dirty), 8)} kB\n`;
  if (rollup) {
    s += `Pss_Anon:       ${decw(pss_kb(mss.pss_anon), 8)} kB\n`;
    s += `Pss_File:       ${decw(pss_kb(mss.pss_file), 8)} kB\n`;
    s += `Pss_Shmem:      ${decw(pss_kb(mss.pss_shmem), 8)} kB\n`;
  }
  s += kbline("Shared_Clean:", mss.shared_clean);
  s += kbline("Shared_Dirty:", mss.shared_dirty);
  s += kbline("Private_Clean:", mss.private_clean);
  s += kbline("Private_Dirty:", mss.private_dirty);
  s += kbline("Referenced:", mss.referenced);
  s += kbline("Anonymous:", mss.anonymous);
  s += kbline("KSM:", mss.ksm);
  s += kbline("LazyFree:", mss.lazyfree);
  s += kbline("AnonHugePages:", mss.anonymous_thp);
  s += kbline("ShmemPmdMapped:", mss.shmem_thp);
  s += kbline("FilePmdMapped:", mss.file_thp);
  s += kbline("Shared_Hugetlb:", mss.shared_hugetlb);
  // The 17-character key keeps the column with a width of 7.
  s += `Private_Hugetlb: ${decw(kb(mss.private_hugetlb), 7)} kB\n`;
  s += kbline("Swap:", mss.swap);
  s += `SwapPss:        ${decw(pss_kb(mss.swap_pss), 8)} kB\n`;
  s += `Locked:         ${decw(pss_kb(mss.pss_locked), 8)} kB\n`;
  return s;
}

/**
 * THPeligible with THP enabled=madvise (this profile's hosts): an anonymous VMA with VM_HUGEPAGE
 * (and not VM_NOHUGEPAGE) that can hold a PMD-aligned 2 MiB page, whether faulted or not.
 */
function thp_eligible(vma: vm_area_struct): boolean {
  if (vma.vm_ops !== "anonymous" || vma.vm_mm.flags & MMF_DISABLE_THP) return false;
  if ((vma.vm_flags & (VM_HUGEPAGE | VM_NOHUGEPAGE)) !== VM_HUGEPAGE) return false;
  const haddr = Math.floor((vma.vm_end - PMD_SIZE) / PMD_SIZE) * PMD_SIZE;
  return haddr >= vma.vm_start && haddr + PMD_SIZE <= vma.vm_end;
}

function smap_tail(m: Machine, eligible: boolean, flags: number): string {
  let s = `THPeligible:    ${decw(eligible ? 1 : 0, 8)}\n`;
  // The simulator does not model protection keys per VMA: every VMA has the default key 0.
  if (m.profile.pku) s += `ProtectionKey:  ${decw(0, 8)}\n`;
  return `${s}VmFlags: ${vmFlagMnemonics(flags)}\n`;
}

function smap_head(sizeBytes: number): string {
  return (
    kbline("Size:", sizeBytes) + kbline("KernelPageSize:", PAGE_SIZE) + kbline("MMUPageSize:", PAGE_SIZE)
  );
}

/** One VMA's block of /proc/PID/smaps (show_smap). */
export function show_smap(m: Machine, vma: vm_area_struct): string {
  const mss = smap_gather_stats(m, vma);
  return (
    show_map_vma(vma) +
    smap_head(vma.vm_end - vma.vm_start) +
    show_smap_body(mss, false) +
    smap_tail(m, thp_eligible(vma), vma.vm_flags)
  );
}

/** /proc/PID/smaps. */
export function show_smaps(m: Machine, mm: mm_struct | null, opts: ShowMapsOptions = {}): string {
  if (!mm) return "";
  let out = "";
  for (const v of mm.mm_mt) out += show_smap(m, v);
  if (opts.vsyscall ?? true) {
    // The gate VMA has no mm and no pages: only its size and flags are non-zero.
    out += show_gate_vma() + smap_head(PAGE_SIZE) + show_smap_body(empty_mem_size_stats(), false);
    out += smap_tail(m, false, GATE_FLAGS);
  }
  return out;
}

/** smaps_rollup totals over every VMA (the gate VMA excluded). */
export function smaps_rollup_stats(m: Machine, mm: mm_struct): MemSizeStats {
  const mss = empty_mem_size_stats();
  for (const v of mm.mm_mt) smap_gather_stats(m, v, mss);
  return mss;
}

/**
 * /proc/PID/smaps_rollup: a "---p" header spanning the first VMA's start to the last VMA's end
 * (00000000-00000000 for an empty mm), then the rollup body. Without an mm the read fails: "".
 */
export function show_smaps_rollup(m: Machine, mm: mm_struct | null): string {
  if (!mm) return "";
  const first = mm.mm_mt.first();
  const last = mm.mm_mt.last();
  const header = vma_header_prefix(first?.vm_start ?? 0, last?.vm_end ?? 0, 0, 0n, [0, 0], 0);
  return with_name(header, "[rollup]") + show_smap_body(smaps_rollup_stats(m, mm), true);
}

// ---------------------------------------------------------------------------------------------
// /proc/PID/status (memory lines) and /proc/PID/statm

/** The text segment size in bytes: PAGE_ALIGN(end_code) - (start_code & PAGE_MASK). */
function text_bytes(mm: mm_struct): number {
  return Math.ceil(mm.end_code / PAGE_SIZE) * PAGE_SIZE - Math.floor(mm.start_code / PAGE_SIZE) * PAGE_SIZE;
}

function status_line(key: string, kbytes: number): string {
  return `${key}:\t${decw(kbytes, 8)} kB\n`;
}

/**
 * task_mem(): VmPeak .. HugetlbPages, each "Key:\t%8lu kB". Counters are exact sums here (the
 * kernel uses get_mm_counter_sum too); hiwater values only rise when the simulator samples them.
 * Without an mm (kernel thread, zombie) status has no memory lines.
 */
export function show_status_mem(_m: Machine, mm: mm_struct | null): string {
  if (!mm) return "";
  const anon = mm.get_mm_counter(MM_ANONPAGES);
  const file = mm.get_mm_counter(MM_FILEPAGES);
  const shmem = mm.get_mm_counter(MM_SHMEMPAGES);
  const total_rss = anon + file + shmem;
  const hiwater_vm = Math.max(mm.total_vm, mm.hiwater_vm);
  const hiwater_rss = Math.max(total_rss, mm.hiwater_rss);
  const exec_bytes = mm.exec_vm * PAGE_SIZE;
  const text = Math.min(text_bytes(mm), exec_bytes);
  const lib = exec_bytes - text;
  const pk = (pages: number) => pages * (PAGE_SIZE / 1024);
  return (
    status_line("VmPeak", pk(hiwater_vm)) +
    status_line("VmSize", pk(mm.total_vm)) +
    status_line("VmLck", pk(mm.locked_vm)) +
    status_line("VmPin", pk(mm.pinned_vm)) +
    status_line("VmHWM", pk(hiwater_rss)) +
    status_line("VmRSS", pk(total_rss)) +
    status_line("RssAnon", pk(anon)) +
    status_line("RssFile", pk(file)) +
    status_line("RssShmem", pk(shmem)) +
    status_line("VmData", pk(mm.data_vm)) +
    status_line("VmStk", pk(mm.stack_vm)) +
    status_line("VmExe", kb(text)) +
    status_line("VmLib", kb(lib)) +
    status_line("VmPTE", kb(mm.pgd.pgtables_bytes)) +
    status_line("VmSwap", pk(mm.get_mm_counter(MM_SWAPENTS))) +
    // No hugetlb pool is simulated.
    status_line("HugetlbPages", 0)
  );
}

/** /proc/PID/statm: "size resident shared text lib(0) data dt(0)" in pages; text is not clamped. */
export function show_statm(_m: Machine, mm: mm_struct | null): string {
  if (!mm) return "0 0 0 0 0 0 0\n";
  const shared = mm.get_mm_counter(MM_FILEPAGES) + mm.get_mm_counter(MM_SHMEMPAGES);
  const resident = shared + mm.get_mm_counter(MM_ANONPAGES);
  const text = Math.floor(text_bytes(mm) / PAGE_SIZE);
  const data = mm.data_vm + mm.stack_vm;
  return `${mm.total_vm} ${resident} ${shared} ${text} 0 ${data} 0\n`;
}

// ---------------------------------------------------------------------------------------------
// JSON views (for the HTTP API): plain objects, kernel field names, addresses as "0x..." strings

function addr(x: number): string {
  return `0x${x.toString(16)}`;
}

export interface VmFileView {
  path: string;
  ino: number;
  /** st_dev as "%02x:%02x", as maps prints it. */
  dev: string;
  /** The struct file identity (what merging compares). */
  id: number;
  deleted: boolean;
}

export interface VmaView {
  vm_start: string;
  vm_end: string;
  /** The perms column of maps ("rw-p"). */
  perms: string;
  vm_flags: string[];
  vm_pgoff: number;
  vm_page_prot: string;
  vm_ops: vm_area_struct["vm_ops"];
  vm_file: VmFileView | null;
  anon_vma: { id: number; fork_child: boolean } | null;
  /** What maps prints in the name column, or null. */
  name: string | null;
}

export function vma_view(vma: vm_area_struct): VmaView {
  const f = vma.vm_flags;
  const file = vma.vm_file;
  return {
    vm_start: addr(vma.vm_start),
    vm_end: addr(vma.vm_end),
    perms:
      (f & VM_READ ? "r" : "-") +
      (f & VM_WRITE ? "w" : "-") +
      (f & VM_EXEC ? "x" : "-") +
      (f & VM_MAYSHARE ? "s" : "p"),
    vm_flags: vmFlagNames(f),
    vm_pgoff: vma.vm_pgoff,
    vm_page_prot: vma.vm_page_prot,
    vm_ops: vma.vm_ops,
    vm_file: file
      ? {
          path: file.inode.path,
          ino: file.inode.i_ino,
          dev: `${hexw(file.inode.dev[0], 2)}:${hexw(file.inode.dev[1], 2)}`,
          id: file.id,
          deleted: file.inode.unlinked,
        }
      : null,
    anon_vma: vma.anon_vma ? { id: vma.anon_vma.id, fork_child: vma.anon_vma_chain.length > 1 } : null,
    name: vma_name(vma),
  };
}

export interface MmView {
  id: number;
  owner: number | null;
  mm_users: number;
  mm_count: number;
  map_count: number;
  get_unmapped_area: mm_struct["get_unmapped_area"];
  mmap_base: string;
  mmap_legacy_base: string;
  task_size: string;
  total_vm: number;
  locked_vm: number;
  pinned_vm: number;
  shared_vm: number;
  exec_vm: number;
  stack_vm: number;
  data_vm: number;
  hiwater_vm: number;
  hiwater_rss: number;
  rss_stat: { MM_FILEPAGES: number; MM_ANONPAGES: number; MM_SWAPENTS: number; MM_SHMEMPAGES: number };
  pgtables_bytes: number;
  def_flags: string[];
  start_code: string;
  end_code: string;
  start_data: string;
  end_data: string;
  start_brk: string;
  brk: string;
  start_stack: string;
  arg_start: string;
  arg_end: string;
  env_start: string;
  env_end: string;
  vmas: VmaView[];
}

export function mm_view(_m: Machine, mm: mm_struct): MmView {
  return {
    id: mm.id,
    owner: mm.owner,
    mm_users: mm.mm_users,
    mm_count: mm.mm_count,
    map_count: mm.map_count,
    get_unmapped_area: mm.get_unmapped_area,
    mmap_base: addr(mm.mmap_base),
    mmap_legacy_base: addr(mm.mmap_legacy_base),
    task_size: addr(mm.task_size),
    total_vm: mm.total_vm,
    locked_vm: mm.locked_vm,
    pinned_vm: mm.pinned_vm,
    shared_vm: mm.shared_vm,
    exec_vm: mm.exec_vm,
    stack_vm: mm.stack_vm,
    data_vm: mm.data_vm,
    hiwater_vm: mm.hiwater_vm,
    hiwater_rss: mm.hiwater_rss,
    rss_stat: {
      MM_FILEPAGES: mm.get_mm_counter(MM_FILEPAGES),
      MM_ANONPAGES: mm.get_mm_counter(MM_ANONPAGES),
      MM_SWAPENTS: mm.get_mm_counter(MM_SWAPENTS),
      MM_SHMEMPAGES: mm.get_mm_counter(MM_SHMEMPAGES),
    },
    pgtables_bytes: mm.pgd.pgtables_bytes,
    def_flags: vmFlagNames(mm.def_flags),
    start_code: addr(mm.start_code),
    end_code: addr(mm.end_code),
    start_data: addr(mm.start_data),
    end_data: addr(mm.end_data),
    start_brk: addr(mm.start_brk),
    brk: addr(mm.brk),
    start_stack: addr(mm.start_stack),
    arg_start: addr(mm.arg_start),
    arg_end: addr(mm.arg_end),
    env_start: addr(mm.env_start),
    env_end: addr(mm.env_end),
    vmas: [...mm.mm_mt].map(vma_view),
  };
}
