/**
 * execve(2) (fs/exec.c, fs/binfmt_elf.c): a fresh address space laid out as the kernel lays out
 * an ELF program before its first instruction runs: the stack with the arguments, environment and
 * auxiliary vector, the PT_LOAD segments (PIE at ELF_ET_DYN_BASE + random, ET_EXEC at their
 * addresses), bss, the interpreter below mmap_base, [vvar][vvar_vclock][vdso], and the heap start.
 */
import { ENOENT, ENOMEM } from "../abi/errno.js";
import {
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  O_RDONLY,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from "../abi/mman.js";
import type { OpenFile } from "../fs/file.js";
import { err, ok, type SysResult } from "../lib/result.js";
import type { Machine } from "../machine.js";
import { access_vm } from "../mm/access.js";
import { security_vm_enough_memory, vm_stat_account } from "../mm/accounting.js";
import { do_brk_flags } from "../mm/brk.js";
import { do_mmap, do_munmap } from "../mm/mmap.js";
import {
  arch_pick_mmap_layout,
  get_unmapped_area,
  MMAP_RND_BITS,
  randomize_page,
  STACK_RND_MASK,
} from "../mm/mmap_layout.js";
import { MMF_DISABLE_THP, type mm_struct } from "../mm/types.js";
import {
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_EXEC,
  VM_IO,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_PFNMAP,
  VM_READ,
  VM_SOFTDIRTY,
  VM_STACK_FLAGS,
} from "../mm/vm_flags.js";
import { vm_area_new, vma_link } from "../mm/vma.js";
import { do_exit, mm_release_vfork, mmput, release_task, SIGKILL } from "./exit.js";
import { DEFAULT_IMAGE, type ImageSpec, image_file_size, type Segment } from "./image.js";
import { comm_of, type task_struct } from "./task.js";

/** ELF_ET_DYN_BASE on x86_64: 2/3 of the 47-bit window, page aligned. */
export const ELF_ET_DYN_BASE = 0x555555554000;
const STACK_TOP = TASK_SIZE;
/** The extra stack setup_arg_pages() maps below the arguments. */
const STACK_EXPAND = 131072;

const AT = {
  NULL: 0,
  PHDR: 3,
  PHENT: 4,
  PHNUM: 5,
  PAGESZ: 6,
  BASE: 7,
  FLAGS: 8,
  ENTRY: 9,
  UID: 11,
  EUID: 12,
  GID: 13,
  EGID: 14,
  PLATFORM: 15,
  HWCAP: 16,
  CLKTCK: 17,
  SECURE: 23,
  RANDOM: 25,
  HWCAP2: 26,
  EXECFN: 31,
  SYSINFO_EHDR: 33,
  MINSIGSTKSZ: 51,
};

function prot_of(s: Segment): number {
  return (
    (s.prot.includes("r") ? PROT_READ : 0) |
    (s.prot.includes("w") ? PROT_WRITE : 0) |
    (s.prot.includes("x") ? PROT_EXEC : 0)
  );
}

const page_down = (x: number) => x - (x % PAGE_SIZE);
const page_up = (x: number) => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;

/** The image's file: looked up, or created with the size the segments need. */
function open_image(m: Machine, path: string, segments: Segment[]): OpenFile {
  const inode = m.fs.lookup(path) ?? m.fs.create(path, image_file_size(segments));
  return m.fs.open(inode, O_RDONLY);
}

/**
 * elf_load(): map one PT_LOAD segment at bias + vaddr (MAP_FIXED, or a kernel-chosen address for
 * the first segment when `total` is given: the whole image is reserved, then trimmed), then its bss:
 * the rest of the last file page is zeroed (a write: a copy-on-write fault) and whole bss pages
 * become an anonymous brk-like VMA.
 */
function elf_load(
  m: Machine,
  task: task_struct,
  file: OpenFile,
  bias: number,
  seg: Segment,
  fixedFlag: number,
  total: number,
): number {
  const mm = task.mm!;
  const pageoff = seg.vaddr % PAGE_SIZE;
  const prot = prot_of(seg);
  let map_addr = page_down(bias + seg.vaddr);
  const size = page_up(seg.filesz + pageoff);
  if (size) {
    const populate = { len: 0 };
    const len = total ? page_up(total) : size;
    const r = do_mmap(
      m,
      task,
      file,
      total && !fixedFlag ? 0 : map_addr,
      len,
      prot,
      MAP_PRIVATE | fixedFlag,
      (seg.offset - pageoff) / PAGE_SIZE,
      populate,
    );
    if (!r.ok) return -r.errno;
    map_addr = r.value.addr;
    if (len > size) do_munmap(m, mm, map_addr + size, map_addr + len);
  }
  if (seg.memsz > seg.filesz) {
    const zero_start = map_addr + pageoff + seg.filesz;
    const zero_end = map_addr + pageoff + seg.memsz;
    // padzero(): clear the tail of the last file page (errors ignored for non-writable segments).
    if (zero_start % PAGE_SIZE && size)
      access_vm(m, task, zero_start, PAGE_SIZE - (zero_start % PAGE_SIZE), "write");
    // The OOM killer chose this task while it faulted: the exec is over.
    if (task.mm !== mm) return -ENOMEM;
    const zs = page_up(zero_start);
    const ze = page_up(zero_end);
    if (ze > zs && do_brk_flags(m, task, mm, zs, ze - zs, prot & PROT_EXEC ? VM_EXEC : 0) < 0) return -ENOMEM;
  }
  return map_addr;
}

/** _install_special_mapping() for [vvar], [vvar_vclock] and [vdso]. */
function map_vdso(m: Machine, task: task_struct, mm: mm_struct): number {
  const vvar = 4 * PAGE_SIZE;
  const vclock = 2 * PAGE_SIZE;
  const vdso = 2 * PAGE_SIZE;
  const addr = get_unmapped_area(m, task, null, 0, vvar + vclock + vdso, 0, 0);
  if (addr < 0) return addr;
  const soft = m.profile.softDirty ? VM_SOFTDIRTY : 0;
  const mk = (start: number, len: number, flags: number, name: "[vvar]" | "[vvar_vclock]" | "[vdso]") => {
    const v = vm_area_new(
      mm,
      start,
      start + len,
      flags | mm.def_flags | VM_DONTEXPAND | soft,
      0,
      null,
      "special",
    );
    v.special = name;
    vma_link(mm, v);
    vm_stat_account(mm, v.vm_flags, len / PAGE_SIZE);
  };
  const vvar_flags = VM_READ | VM_MAYREAD | VM_IO | VM_DONTDUMP | VM_PFNMAP;
  mk(addr, vvar, vvar_flags, "[vvar]");
  mk(addr + vvar, vclock, vvar_flags, "[vvar_vclock]");
  mk(addr + vvar + vclock, vdso, VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC, "[vdso]");
  return addr + vvar + vclock;
}

/**
 * create_elf_tables(): below the strings, the platform string and AT_RANDOM's 16 bytes; at the
 * initial stack pointer argc, the argv and envp pointer arrays and the auxiliary vector.
 */
function create_elf_tables(
  m: Machine,
  task: task_struct,
  mm: mm_struct,
  argv: string[],
  envp: string[],
  strings: Uint8Array,
): void {
  const platform = mm.arg_start - 24;
  const len = mm.arg_start - mm.start_stack;
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  const word = (at: number, v: number) => dv.setBigUint64(at, BigInt(v), true);
  let at = 0;
  word(at, argv.length);
  at += 8;
  // Pointers to each string, in the order copy_strings() laid them out.
  let p = mm.arg_start;
  const ptrs = (list: string[]) => {
    for (let i = 0; i < list.length; i++) {
      word(at, p);
      at += 8;
      while (strings[p - mm.arg_start] !== 0) p++;
      p++;
    }
    at += 8; // NULL
  };
  ptrs(argv);
  ptrs(envp);
  for (const [k, v] of mm.saved_auxv) {
    word(at, k);
    word(at + 8, v);
    at += 16;
  }
  b.set(new TextEncoder().encode("x86_64"), platform - mm.start_stack);
  for (let i = 0; i < 16; i++) b[platform + 8 - mm.start_stack + i] = m.rng.below(256);
  access_vm(m, task, mm.start_stack, len, "write", b);
}

/**
 * de_thread(): exec leaves one thread in the group. The others are killed and reaped; a thread
 * other than the leader takes over the leader's pid, parent and place (the old leader is released
 * without its parent ever seeing it), so the process keeps its pid across execve.
 */
function de_thread(m: Machine, task: task_struct): void {
  for (const t of [...m.tasks.values()]) {
    if (t.tgid !== task.tgid || t === task || t.pid === t.tgid) continue;
    if (t.state !== "zombie" && t.state !== "dead") do_exit(m, t, 0, SIGKILL);
  }
  if (task.pid === task.tgid) return;
  const leader = m.tasks.get(task.tgid);
  if (leader && leader.state !== "zombie" && leader.state !== "dead") do_exit(m, leader, 0, SIGKILL);
  const tid = task.pid;
  m.tasks.delete(tid);
  if (leader) {
    task.ppid = leader.ppid;
    release_task(m, leader);
  }
  task.pid = task.tgid;
  m.tasks.set(task.pid, task);
  // Children that were the thread's (or the leader's, handed to it) follow it to the new pid.
  for (const c of m.tasks.values()) if (c.ppid === tid) c.ppid = task.pid;
}

export interface ExecArgs {
  image?: ImageSpec | "empty";
  argv?: string[];
  envp?: string[];
}

/**
 * do_execve(): replace the task's address space. The old mm is released (a vfork parent runs
 * again); mlockall(MCL_FUTURE) and locks do not survive, the layout is picked anew from the
 * task's rlimits and personality.
 */
export function do_execve(m: Machine, task: task_struct, args: ExecArgs = {}): SysResult<number> {
  task.assert_runnable();
  const spec = args.image ?? DEFAULT_IMAGE;
  const argv = args.argv ?? [spec === "empty" ? "empty" : spec.path];
  const envp = args.envp ?? [];
  if (spec !== "empty" && spec.interp?.path === "") return err(ENOENT);
  de_thread(m, task);
  // unshare_files(): a table still shared (CLONE_FILES without CLONE_THREAD) becomes the task's own.
  if (task.files.users > 1) {
    task.files.users--;
    task.files = task.files.clone();
  }
  const oldmm = task.mm;
  const mm = m.mm_alloc();
  if (oldmm && oldmm.flags & MMF_DISABLE_THP) mm.flags |= MMF_DISABLE_THP;
  mm.owner = task.pid;
  // exec_mmap(): the new mm is installed; the old one goes with its last user.
  mm_release_vfork(m, task);
  if (oldmm) {
    task.mm = null;
    mmput(m, oldmm, task.pid);
  }
  task.mm = mm;
  arch_pick_mmap_layout(m, task, mm);
  const rnd = task.randomize(m.profile.randomizeVaSpace);
  if (spec === "empty") {
    m.sink?.({ type: "execve", pid: task.pid, mm: mm.id, comm: task.comm });
    return ok(0);
  }

  // The stack: arguments and environment at the top of a randomised stack, 128 KiB below them.
  let top = STACK_TOP;
  if (rnd) top = page_up(top) - (m.rng.nextLong() % (STACK_RND_MASK + 1)) * PAGE_SIZE;
  let sp = top;
  if (rnd && m.profile.randomizeVaSpace) sp -= m.rng.below(8192);
  sp -= sp % 16;
  const vm_end = page_up(sp);
  const strings = [spec.path, ...envp, ...argv].reduce(
    (n, s) => n + new TextEncoder().encode(s).length + 1,
    0,
  );
  const tables =
    16 /* AT_RANDOM bytes */ + 8 /* "x86_64\0" */ + 22 * 16 /* auxv */ + (argv.length + envp.length + 3) * 8;
  const used = page_up(strings + tables + 16);
  const stack_expand = Math.min(Math.floor(task.rlimits.STACK / PAGE_SIZE) * PAGE_SIZE, used + STACK_EXPAND);
  const stack_start = vm_end - stack_expand;
  const stack_flags =
    VM_STACK_FLAGS | (spec.execStack ? VM_EXEC : 0) | (m.profile.softDirty ? VM_SOFTDIRTY : 0);
  if (!security_vm_enough_memory(m, task, mm, stack_expand / PAGE_SIZE)) return err(ENOMEM);
  const stack = vm_area_new(mm, stack_start, vm_end, stack_flags, stack_start / PAGE_SIZE, null, "anonymous");
  vma_link(mm, stack);
  vm_stat_account(mm, stack.vm_flags, stack_expand / PAGE_SIZE);
  mm.arg_start = vm_end - strings;
  const argBytes = argv.reduce((n, s) => n + new TextEncoder().encode(s).length + 1, 0);
  mm.arg_end = mm.arg_start + argBytes;
  mm.env_start = mm.arg_end;
  mm.env_end = mm.env_start + (strings - argBytes - new TextEncoder().encode(spec.path).length - 1);
  // The initial stack pointer (argc is there), 16-byte aligned below the tables.
  mm.start_stack = vm_end - strings - tables - ((vm_end - strings - tables) % 16);
  // copy_strings(): the argument and environment strings, then the file name, at the very top.
  const stringBytes = new TextEncoder().encode(`${[...argv, ...envp, spec.path].join("\0")}\0`);
  access_vm(m, task, mm.arg_start, stringBytes.length, "write", stringBytes);
  // Killed by the OOM killer while the strings were copied (so at every later fault below).
  if (task.mm !== mm) return err(ENOMEM);

  // The program's segments.
  const file = open_image(m, spec.path, spec.segments);
  const loads = spec.segments;
  let bias = 0;
  const first_vaddr = Math.min(...loads.map((s) => s.vaddr));
  if (spec.pie) {
    bias = ELF_ET_DYN_BASE;
    if (rnd) bias += (m.rng.nextLong() % 2 ** MMAP_RND_BITS) * PAGE_SIZE;
    bias = page_down(bias) - page_down(first_vaddr);
  }
  let start_code = Number.POSITIVE_INFINITY;
  let end_code = 0;
  let start_data = 0;
  let end_data = 0;
  let elf_brk = 0;
  for (const s of loads) {
    const r = elf_load(m, task, file, bias, s, spec.pie ? MAP_FIXED_NOREPLACE : MAP_FIXED, 0);
    if (r < 0) return err(-r);
    const k = bias + s.vaddr;
    start_code = Math.min(start_code, k);
    start_data = Math.max(start_data, k);
    const kend = k + s.filesz;
    if (s.prot.includes("x")) end_code = Math.max(end_code, kend);
    end_data = Math.max(end_data, kend);
    elf_brk = Math.max(elf_brk, k + s.memsz);
  }
  mm.exe_file = file;
  // The interpreter, placed by a top-down search (so it ends at mmap_base on a fresh mm).
  let interp_base = 0;
  if (spec.interp) {
    const ifile = open_image(m, spec.interp.path, spec.interp.segments);
    const segs = spec.interp.segments;
    const total =
      Math.max(...segs.map((s) => s.vaddr + s.memsz)) - page_down(Math.min(...segs.map((s) => s.vaddr)));
    const first = elf_load(m, task, ifile, 0, segs[0]!, 0, total);
    if (first < 0) return err(-first);
    interp_base = first - page_down(segs[0]!.vaddr);
    for (const s of segs.slice(1)) {
      const r = elf_load(m, task, ifile, interp_base, s, MAP_FIXED, 0);
      if (r < 0) return err(-r);
    }
  }
  const vdso = map_vdso(m, task, mm);
  if (vdso < 0) return err(-vdso);
  mm.start_code = start_code;
  mm.end_code = end_code;
  mm.start_data = start_data;
  mm.end_data = end_data;
  mm.start_brk = mm.brk = page_up(elf_brk);
  if (rnd && m.profile.randomizeVaSpace > 1) mm.start_brk = mm.brk = randomize_page(m, mm.brk, 2 ** 30);
  const entry = bias + loads[0]!.vaddr;
  mm.saved_auxv = [
    [AT.SYSINFO_EHDR, vdso],
    [AT.MINSIGSTKSZ, 3632],
    [AT.HWCAP, 0x178bfbff],
    [AT.PAGESZ, PAGE_SIZE],
    [AT.CLKTCK, 100],
    [AT.PHDR, entry + 64],
    [AT.PHENT, 56],
    [AT.PHNUM, loads.length + 4],
    [AT.BASE, interp_base],
    [AT.FLAGS, 0],
    [AT.ENTRY, entry],
    [AT.UID, task.uid],
    [AT.EUID, task.uid],
    [AT.GID, task.gid],
    [AT.EGID, task.gid],
    [AT.SECURE, 0],
    [AT.RANDOM, vm_end - strings - 16],
    [AT.HWCAP2, 2],
    [AT.EXECFN, vm_end - new TextEncoder().encode(spec.path).length - 1],
    [AT.PLATFORM, vm_end - strings - 24],
    [AT.NULL, 0],
  ];
  create_elf_tables(m, task, mm, argv, envp, stringBytes);
  if (task.mm !== mm) return err(ENOMEM);
  // The executed file's basename, whatever argv[0] says [obs]. (The "empty" image, which has no
  // file, keeps the task's comm.)
  task.comm = comm_of(spec.path.split("/").pop()!);
  m.sink?.({ type: "execve", pid: task.pid, mm: mm.id, comm: task.comm });
  return ok(0);
}
