/**
 * validate_mm(): recompute every cached value of an mm from scratch and compare. A mismatch is a
 * bug in the engine, never a user error: it throws. Tests call it after every step.
 */
import { PAGE_SIZE, TASK_SIZE } from "../abi/mman.js";
import { InvariantError } from "../abi/ulong.js";
import type { FdTable, Inode, OpenFile } from "../fs/file.js";
import type { Machine } from "../machine.js";
import { PG_anon_exclusive, PG_mlocked, PG_swapcache } from "../mem/frames.js";
import { folio_lru_list, LRU_CLASSIC, NR_LRU_LISTS } from "../mem/lru.js";
import { mem_state } from "../mem/meminfo.js";
import { nr_free_pages } from "../mem/page_alloc.js";
import { linear_page_index } from "./fault.js";
import {
  PTE_GUARD,
  PTE_HWPOISON,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  pte_pfn,
} from "./page_table.js";
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  type mm_struct,
  type vm_area_struct,
} from "./types.js";
import {
  is_data_mapping,
  is_exec_mapping,
  is_stack_mapping,
  VM_ACCOUNT,
  VM_IGNORE_MERGE,
  VM_LOCKED,
  VM_MAYBE_GUARD,
  VM_SHARED,
  VM_SPECIAL,
  VM_WRITE,
} from "./vm_flags.js";
import { vma_had_uncowed_parents } from "./vma.js";

function fail(msg: string): never {
  throw new InvariantError(`validate_mm: ${msg}`);
}

const hx = (x: number) => `0x${x.toString(16)}`;

/** Would mm/vma.c merge these neighbours if they were proposed now? */
export function vmas_could_merge(a: vm_area_struct, b: vm_area_struct): boolean {
  if (a.vm_end !== b.vm_start) return false;
  if ((a.vm_flags | b.vm_flags) & VM_SPECIAL) return false;
  if ((a.vm_flags ^ b.vm_flags) & ~VM_IGNORE_MERGE) return false;
  if (a.vm_file !== b.vm_file) return false;
  if (a.vm_pgoff + a.nr_pages !== b.vm_pgoff) return false;
  if (a.anon_vma && b.anon_vma) return a.anon_vma === b.anon_vma;
  if (a.anon_vma) return !vma_had_uncowed_parents(a);
  if (b.anon_vma) return !vma_had_uncowed_parents(b);
  return true;
}

export interface ValidateOptions {
  /**
   * Linux itself leaves mergeable neighbours in a few paths (brk never merges with the next VMA,
   * a failed MAP_FIXED keeps the splits it made): callers that exercise those pass false.
   */
  checkMergeable?: boolean;
}

export function validate_mm(m: Machine, mm: mm_struct, opts: ValidateOptions = {}): void {
  mm.mm_mt.check();
  let map_count = 0;
  let total_vm = 0;
  let exec_vm = 0;
  let stack_vm = 0;
  let data_vm = 0;
  let shared_vm = 0;
  let locked_vm = 0;
  let prev: vm_area_struct | undefined;
  for (const v of mm.mm_mt) {
    map_count++;
    if (v.vm_mm !== mm) fail(`VMA ${hx(v.vm_start)} belongs to another mm`);
    if (v.vm_start % PAGE_SIZE || v.vm_end % PAGE_SIZE)
      fail(`unaligned VMA ${hx(v.vm_start)}-${hx(v.vm_end)}`);
    if (v.vm_start >= v.vm_end) fail(`empty VMA at ${hx(v.vm_start)}`);
    if (v.vm_end > TASK_SIZE) fail(`VMA beyond TASK_SIZE: ${hx(v.vm_end)}`);
    if (prev && prev.vm_end > v.vm_start) fail(`overlap at ${hx(v.vm_start)}`);
    if (prev && opts.checkMergeable !== false && vmas_could_merge(prev, v)) {
      fail(`mergeable neighbours left unmerged at ${hx(v.vm_start)}`);
    }
    if (v.anon_vma && v.anon_vma_chain[0] !== v.anon_vma)
      fail(`anon_vma chain of ${hx(v.vm_start)} does not start at it`);
    if (!v.anon_vma && v.anon_vma_chain.length) fail(`anon_vma chain without anon_vma at ${hx(v.vm_start)}`);
    if (v.vm_file && !v.vm_file.inode.i_mmap.has(v)) fail(`file VMA ${hx(v.vm_start)} missing from i_mmap`);
    const n = v.nr_pages;
    total_vm += n;
    if (is_exec_mapping(v.vm_flags)) exec_vm += n;
    else if (is_stack_mapping(v.vm_flags)) stack_vm += n;
    else if (is_data_mapping(v.vm_flags)) data_vm += n;
    if (v.vm_flags & VM_SHARED) shared_vm += n;
    if (v.vm_flags & VM_LOCKED) locked_vm += n;
    prev = v;
  }
  const expect = (name: string, got: number, want: number) => {
    if (got !== want) fail(`${name} is ${got}, recomputed ${want}`);
  };
  expect("map_count", mm.map_count, map_count);
  expect("mm_mt.size", mm.mm_mt.size, map_count);
  expect("total_vm", mm.total_vm, total_vm);
  expect("exec_vm", mm.exec_vm, exec_vm);
  expect("stack_vm", mm.stack_vm, stack_vm);
  expect("data_vm", mm.data_vm, data_vm);
  expect("shared_vm", mm.shared_vm, shared_vm);
  expect("locked_vm", mm.locked_vm, locked_vm + mm.locked_vm_skew);
  if (mm.mmap_cache && !mm.mm_mt.has(mm.mmap_cache)) fail("mmap_cache points at a VMA not in the tree");
  validate_page_tables(m, mm);
}

/**
 * The page state of one mm: every non-none PTE lies inside a VMA that allows it and maps what that
 * VMA can map (anonymous frames of its anon_vma at their linear index, the page-cache frame of its
 * file at that index, the zero page only in private anonymous memory); writable PTEs only in
 * writable VMAs and never to a page someone else maps copy-on-write; RSS and swap counters equal
 * a recount; the page-table bookkeeping (blocks, PTE tables) matches its entries.
 */
function validate_page_tables(m: Machine, mm: mm_struct): void {
  mm.pgd.check();
  const rss = [0, 0, 0, 0];
  const f = m.frames;
  let vma: vm_area_struct | undefined;
  for (const [vpn, pte] of mm.pgd.entries()) {
    const addr = vpn * PAGE_SIZE;
    if (!vma || addr < vma.vm_start || addr >= vma.vm_end) vma = mm.mm_mt.lookup(addr);
    if (!vma) fail(`PTE outside any VMA at ${hx(addr)}`);
    const bits = pte & 0xff;
    if (bits & PTE_GUARD) {
      if (bits !== PTE_GUARD || pte_pfn(pte) !== 0) fail(`guard marker with other bits at ${hx(addr)}`);
      if (!(vma.vm_flags & VM_MAYBE_GUARD)) fail(`guard marker at ${hx(addr)} in a VMA without "gu"`);
      continue;
    }
    if (bits & PTE_HWPOISON) continue;
    if (bits & PTE_SWAP) {
      rss[MM_SWAPENTS]!++;
      if (bits & ~(PTE_SWAP | PTE_SWP_EXCLUSIVE)) fail(`swap entry with other bits at ${hx(addr)}`);
      if (!vma.anon_vma || vma.vm_flags & VM_SHARED)
        fail(`swap entry at ${hx(addr)} outside private anonymous memory`);
      if (!m.swap.in_use(pte_pfn(pte))) fail(`swap entry at ${hx(addr)} for free slot ${pte_pfn(pte)}`);
      continue;
    }
    if (!(bits & PTE_PRESENT)) fail(`unknown PTE state ${bits} at ${hx(addr)}`);
    if (bits & PTE_WRITE && !(vma.vm_flags & VM_WRITE))
      fail(`writable PTE in a non-writable VMA at ${hx(addr)}`);
    const pfn = pte_pfn(pte);
    if (bits & PTE_SPECIAL) {
      if (pfn !== f.zero_pfn) fail(`special PTE at ${hx(addr)} maps frame ${pfn}, not the zero page`);
      if (bits & PTE_WRITE) fail(`writable zero-page PTE at ${hx(addr)}`);
      if (vma.vm_flags & VM_SHARED || (vma.vm_ops !== "anonymous" && vma.vm_ops !== "special"))
        fail(`zero page mapped at ${hx(addr)} outside private anonymous memory and [vvar]/[vdso]`);
      continue;
    }
    if (f.isFree(pfn)) fail(`PTE at ${hx(addr)} maps a free frame ${pfn}`);
    if (f.isAnon(pfn)) {
      rss[MM_ANONPAGES]!++;
      if (vma.vm_flags & VM_SHARED) fail(`anonymous frame ${pfn} in a shared VMA at ${hx(addr)}`);
      if (!vma.anon_vma) fail(`anonymous frame ${pfn} at ${hx(addr)} in a VMA without anon_vma`);
      if (f.mapping[pfn] !== vma.anon_vma.root.id)
        fail(`anonymous frame ${pfn} at ${hx(addr)} belongs to anon_vma ${f.mapping[pfn]}, not the VMA's`);
      if (f.index[pfn] !== linear_page_index(vma, addr))
        fail(`anonymous frame ${pfn} at ${hx(addr)} has index ${f.index[pfn]}, not its linear index`);
      if (bits & PTE_WRITE && !(f.flags[pfn]! & PG_anon_exclusive))
        fail(`writable PTE at ${hx(addr)} to a shared (copy-on-write) anonymous frame ${pfn}`);
    } else {
      const inode = vma.vm_file?.inode;
      if (!inode || vma.vm_ops === "anonymous")
        fail(`page-cache frame ${pfn} at ${hx(addr)} in anonymous memory`);
      const idx = linear_page_index(vma, addr);
      if (inode.i_pages.get(idx) !== pfn)
        fail(`frame ${pfn} at ${hx(addr)} is not the page cache's page ${idx} of ${inode.path}`);
      if (bits & PTE_WRITE && !(vma.vm_flags & VM_SHARED))
        fail(`writable PTE at ${hx(addr)} to a page-cache page in a private mapping`);
      if (inode.mmapKind === "shmem") rss[MM_SHMEMPAGES]!++;
      else rss[MM_FILEPAGES]!++;
    }
  }
  for (let c = 0; c < 4; c++) {
    if (mm.rss_stat[c] !== rss[c]) fail(`rss_stat[${c}] is ${mm.rss_stat[c]}, recounted ${rss[c]}`);
  }
}

/**
 * validate_machine(): every mm of the machine (by default those of its tasks) passes validate_mm,
 * and the machine-wide state is recomputed and compared: each frame's _refcount (PTEs + page
 * caches) and mapcount (PTEs), no frame leaked or freed while in use, page-cache frames owned by
 * their inode at their index, page contents held by exactly the frames that have bytes,
 * Committed_AS, and the tasks' view of their mms (mm_users, exited tasks hold none).
 */
/**
 * Open files and fd tables: a table's users are the live tasks holding it (an exited task holds
 * none), and a file's f_count is its slots in those tables (each table once) plus the VMAs mapping it.
 */
function validate_files(m: Machine): void {
  const tables = new Map<FdTable, number>();
  for (const t of m.tasks.values()) {
    if (t.state === "running" || t.state === "vfork-waiting")
      tables.set(t.files, (tables.get(t.files) ?? 0) + 1);
    else if (t.files.entries().next().done === false) fail(`exited task ${t.pid} still has open fds`);
  }
  const counts = new Map<OpenFile, number>();
  const count = (f: OpenFile) => counts.set(f, (counts.get(f) ?? 0) + 1);
  for (const [table, n] of tables) {
    if (table.users !== n) fail(`an fd table has users ${table.users}, ${n} live tasks hold it`);
    for (const [, f] of table.entries()) count(f);
  }
  for (const mm of m.mms) for (const v of mm.mm_mt) if (v.vm_file) count(v.vm_file);
  for (const [f, n] of counts)
    if (f.f_count !== n)
      fail(`open file ${f.id} (${f.inode.path}) has f_count ${f.f_count}, ${n} references`);
}

export function validate_machine(m: Machine, mms?: Iterable<mm_struct>): void {
  const f = m.frames;
  const all = new Set<mm_struct>(mms ?? []);
  const users = new Map<mm_struct, number>();
  const inodes = new Set<Inode>();
  for (const t of m.tasks.values()) {
    if (t.mm) {
      users.set(t.mm, (users.get(t.mm) ?? 0) + 1);
      if (!mms) all.add(t.mm);
    } else if (t.state === "running" || t.state === "vfork-waiting") fail(`live task ${t.pid} has no mm`);
    if (t.state === "zombie" && t.mm) fail(`zombie ${t.pid} still holds an mm`);
    if (t.state === "vfork-waiting" && ![...m.tasks.values()].some((c) => c.vfork_parent === t.pid))
      fail(`task ${t.pid} waits for a vfork child that is gone`);
    for (const [, file] of t.files.entries()) inodes.add(file.inode);
  }
  for (const [mm, n] of users)
    if (mm.mm_users !== n) fail(`mm ${mm.id} has mm_users ${mm.mm_users}, ${n} tasks use it`);
  validate_files(m);
  const refs = new Int32Array(f.pfn_bound);
  const maps = new Int32Array(f.pfn_bound);
  const mlocks = new Int32Array(f.pfn_bound);
  const swapRefs = new Map<number, number>();
  let committed = 0;
  for (const mm of all) {
    validate_mm(m, mm, { checkMergeable: false });
    if (!m.mms.has(mm)) fail(`mm ${mm.id} is in use but not among the machine's address spaces`);
    for (const [, pte] of mm.pgd.entries()) {
      if (pte & PTE_SWAP) {
        const slot = pte_pfn(pte);
        swapRefs.set(slot, (swapRefs.get(slot) ?? 0) + 1);
        continue;
      }
      if (!(pte & PTE_PRESENT) || pte & PTE_SPECIAL) continue;
      refs[pte_pfn(pte)]!++;
      maps[pte_pfn(pte)]!++;
    }
    for (const v of mm.mm_mt) {
      if (v.vm_file) inodes.add(v.vm_file.inode);
      if (v.vm_flags & VM_ACCOUNT) committed += v.nr_pages;
      if (!(v.vm_flags & VM_LOCKED)) continue;
      mm.pgd.forEach(v.vm_start / PAGE_SIZE, v.vm_end / PAGE_SIZE, (_vpn, slot) => {
        const pte = mm.pgd.ent[slot]!;
        if (pte & PTE_PRESENT && !(pte & PTE_SPECIAL)) mlocks[pte_pfn(pte)]!++;
      });
    }
  }
  for (const inode of m.fs.files()) inodes.add(inode);
  for (const inode of m.fs.cached.values()) {
    if (inode.i_pages.size === 0) fail(`inode ${inode.path} is listed as cached but has no pages`);
    inodes.add(inode);
  }
  for (const inode of inodes)
    if (inode.i_pages.size && m.fs.cached.get(inode.i_ino) !== inode)
      fail(`inode ${inode.path} has cached pages but is not listed as cached`);
  // The swap cache holds a reference on each of its pages.
  const swap = m.swap;
  for (let slot = 1; slot < swap.slot_bound; slot++) if (swap.cache[slot]) refs[swap.cache[slot]!]!++;
  for (const inode of inodes) {
    // A swapped-out shmem page's slot counts one entry: the object's.
    for (const slot of inode.i_swap.values()) {
      swapRefs.set(slot, (swapRefs.get(slot) ?? 0) + 1);
      if (inode.mmapKind !== "shmem") fail(`${inode.path} is not shmem but has pages in swap`);
    }
    for (const idx of inode.i_swap.keys())
      if (inode.i_pages.has(idx)) fail(`page ${idx} of ${inode.path} is both cached and in swap`);
    committed += inode.accounted;
    for (const [idx, pfn] of inode.i_pages) {
      if (f.isFree(pfn)) fail(`page cache of ${inode.path} holds free frame ${pfn}`);
      if (f.isAnon(pfn)) fail(`page cache of ${inode.path} holds anonymous frame ${pfn}`);
      if (f.mapping[pfn] !== inode.i_ino || f.index[pfn] !== idx)
        fail(
          `frame ${pfn} in the page cache of ${inode.path} at ${idx} says ${f.mapping[pfn]}:${f.index[pfn]}`,
        );
      refs[pfn]!++;
    }
  }
  let used = 0;
  let withContents = 0;
  const slots = new Set<number>();
  for (let pfn = 1; pfn < f.pfn_bound; pfn++) {
    if (pfn === f.zero_pfn) continue;
    if (f.isFree(pfn)) {
      if (refs[pfn] || maps[pfn]) fail(`frame ${pfn} is free but referenced (${refs[pfn]}) or mapped`);
      if (f.content[pfn]) fail(`free frame ${pfn} keeps contents`);
      continue;
    }
    used++;
    if (f._refcount[pfn] !== refs[pfn])
      fail(`frame ${pfn} _refcount ${f._refcount[pfn]}, recounted ${refs[pfn]}`);
    if (f.mapcount[pfn] !== maps[pfn])
      fail(`frame ${pfn} mapcount ${f.mapcount[pfn]}, recounted ${maps[pfn]}`);
    if (f.lruvec.mlock_count[pfn] !== mlocks[pfn])
      fail(
        `frame ${pfn} mlock_count ${f.lruvec.mlock_count[pfn]}, mapped ${mlocks[pfn]} times in locked VMAs`,
      );
    const c = f.content[pfn]!;
    if (c) {
      if (slots.has(c)) fail(`frames share content slot ${c}`);
      if (!f.contents.check(c)) fail(`frame ${pfn} has bytes outside its written extent`);
      slots.add(c);
      withContents++;
    }
  }
  if (f.nr_used !== used) fail(`nr_used is ${f.nr_used}, counted ${used} frames`);
  withContents += validate_swap(m, swapRefs, slots);
  if (f.contents.used !== withContents)
    fail(`${f.contents.used} content slots in use, ${withContents} frames and swap slots hold bytes`);
  if (f.content[f.zero_pfn] !== 0) fail("the zero page has contents");
  if (!mms && m.vm_committed_as !== committed + m.vm_committed_unaccounted)
    fail(
      `Committed_AS is ${m.vm_committed_as} pages, recounted ${committed} + ${m.vm_committed_unaccounted} unaccounted`,
    );
  validate_lru(m);
  validate_node(m);
}

/**
 * The swap area: each slot's count is the number of swap entries that refer to it, the swap cache
 * and the pages in it point at each other (anonymous pages only), a slot is in use exactly while
 * it has entries or a cached page, and its bytes are its own (no other slot or frame holds the
 * same content handle; none while a page holds them). Returns the slots holding bytes.
 */
function validate_swap(m: Machine, refs: Map<number, number>, handles: Set<number>): number {
  const f = m.frames;
  const swap = m.swap;
  let inuse = 0;
  let withData = 0;
  for (const slot of refs.keys())
    if (slot <= 0 || slot >= swap.slot_bound) fail(`swap entry for slot ${slot}, which was never handed out`);
  for (let slot = 1; slot < swap.slot_bound; slot++) {
    const n = refs.get(slot) ?? 0;
    if (swap.swap_map[slot] !== n)
      fail(`swap slot ${slot} counts ${swap.swap_map[slot]} entries, ${n} refer to it`);
    const pfn = swap.cache[slot]!;
    if (pfn) {
      if (f.isFree(pfn)) fail(`swap slot ${slot} is cached by free frame ${pfn}`);
      if (!f.isAnon(pfn) || !(f.flags[pfn]! & PG_swapcache) || f.swap_entry[pfn] !== slot)
        fail(`frame ${pfn} caches swap slot ${slot} but says otherwise`);
      if (swap.data[slot]) fail(`swap slot ${slot} keeps bytes while frame ${pfn} holds them`);
    }
    const used = n > 0 || pfn !== 0;
    if (used) inuse++;
    else if (swap.data[slot] || swap.shadow[slot]) fail(`free swap slot ${slot} keeps bytes or a shadow`);
    const d = swap.data[slot]!;
    if (d) {
      if (handles.has(d)) fail(`swap slot ${slot} shares content slot ${d}`);
      handles.add(d);
      withData++;
    }
  }
  if (swap.inuse_pages !== inuse)
    fail(`swap inuse_pages is ${swap.inuse_pages}, counted ${inuse} slots in use`);
  if (inuse > swap.max) fail(`${inuse} swap slots in use, the area has ${swap.max}`);
  for (let pfn = 1; pfn < f.pfn_bound; pfn++)
    if (!f.isFree(pfn) && f.flags[pfn]! & PG_swapcache && swap.cache[f.swap_entry[pfn]!] !== pfn)
      fail(`frame ${pfn} is in the swap cache but its slot ${f.swap_entry[pfn]} does not say so`);
  return withData;
}

/**
 * The LRU lists: every page in use is on exactly the list its flags say (mlocked ones on the
 * unevictable list, PG_mlocked exactly when a locked VMA maps it), free pages on none; the links
 * of each list hold together and the per-list counts equal a recount.
 */
function validate_lru(m: Machine): void {
  const f = m.frames;
  const lruvec = f.lruvec;
  const nr = [0, 0, 0, 0, 0];
  let nr_mlock = 0;
  for (let pfn = 1; pfn < f.pfn_bound; pfn++) {
    const on = lruvec.lru[pfn]!;
    if (pfn === f.zero_pfn || f.isFree(pfn)) {
      if (on) fail(`free frame ${pfn} is on LRU list ${on - 1}`);
      if (lruvec.mlock_count[pfn]) fail(`free frame ${pfn} has mlock_count ${lruvec.mlock_count[pfn]}`);
      continue;
    }
    const pf = f.flags[pfn]!;
    if (!on) fail(`frame ${pfn} is in use but on no LRU list`);
    const want = folio_lru_list(pf);
    if (on - 1 !== want) fail(`frame ${pfn} is on LRU list ${on - 1}, its flags say ${want}`);
    if (lruvec.mlock_count[pfn]! > 0 !== ((pf & PG_mlocked) !== 0))
      fail(`frame ${pfn}: PG_mlocked and mlock_count ${lruvec.mlock_count[pfn]} disagree`);
    if (pf & PG_mlocked) nr_mlock++;
    nr[want]!++;
  }
  for (let l = 0; l < NR_LRU_LISTS; l++)
    if (lruvec.nr_pages[l] !== nr[l]) fail(`LRU list ${l} counts ${lruvec.nr_pages[l]} pages, has ${nr[l]}`);
  if (lruvec.nr_mlock !== nr_mlock) fail(`nr_mlock is ${lruvec.nr_mlock}, recounted ${nr_mlock}`);
  let linked = 0;
  for (let p = 0; p <= LRU_CLASSIC; p++) {
    let prev = 0;
    for (let pfn = lruvec.head[p]!; pfn; pfn = lruvec.next[pfn]!) {
      if (lruvec.prev[pfn] !== prev)
        fail(`LRU list ${p}: frame ${pfn} links back to ${lruvec.prev[pfn]}, not ${prev}`);
      const on = lruvec.lru[pfn]!;
      if (!on || lruvec.list_of(on - 1) !== p) fail(`frame ${pfn} is linked on list ${p} but says ${on - 1}`);
      prev = pfn;
      if (++linked > f.pfn_bound) fail(`LRU list ${p} loops`);
    }
    if (lruvec.tail[p] !== prev) fail(`LRU list ${p} ends at ${prev}, its tail says ${lruvec.tail[p]}`);
  }
  if (linked !== f.nr_used) fail(`${linked} frames linked on the LRU lists, ${f.nr_used} in use`);
}

/**
 * The node's memory adds up: page-table pages are the live address spaces' tables, kernel stacks
 * those of the tasks that have not exited, and free pages are what RAM has left beside the pages
 * in use (all on LRU lists), the page tables and the kernel stacks.
 */
function validate_node(m: Machine): void {
  let pgtables = 0;
  for (const mm of m.mms) {
    if (mm.mm_users <= 0) fail(`mm ${mm.id} was torn down but is still among the address spaces`);
    pgtables += mm.pgd.nr_pgtables;
  }
  if (m.pgtable_acct.nr_pagetable !== pgtables)
    fail(`NR_PAGETABLE is ${m.pgtable_acct.nr_pagetable}, the address spaces have ${pgtables} table pages`);
  let zombies = 0;
  for (const t of m.tasks.values()) if (t.state === "zombie") zombies++;
  if (m.nr_zombies !== zombies) fail(`nr_zombies is ${m.nr_zombies}, recounted ${zombies}`);
  const s = mem_state(m);
  const free = nr_free_pages(m);
  if (free < 0) fail(`free pages ${free}: more memory in use than RAM`);
  const used =
    s.active_anon + s.inactive_anon + s.active_file + s.inactive_file + s.unevictable + s.pagetable;
  const kstack = (s.kernel_stack_kb * 1024) / PAGE_SIZE;
  if (s.free + used + kstack !== s.totalram)
    fail(
      `MemFree ${s.free} + LRU ${used - s.pagetable} + PageTables ${s.pagetable} + KernelStack ${kstack} != MemTotal ${s.totalram} (pages)`,
    );
}
