/**
 * One simulated host: its files, physical frames, kernel profile, seeded RNG and counters. Machines
 * share nothing, so many can live side by side and each replays identically from its seed.
 */
import { PAGE_SIZE, TASK_SIZE } from "./abi/mman.js";
import { invariant } from "./abi/ulong.js";
import type { CoreEvent, EventSink } from "./events.js";
import { FdTable, FileSystem } from "./fs/file.js";
import { Rng } from "./lib/rng.js";
import { FrameTable } from "./mem/frames.js";
import { KSTACK_PAGES, setup_per_zone_wmarks, type Watermarks } from "./mem/page_alloc.js";
import { SwapInfo } from "./mem/swap.js";
import { RESERVE_OK, reserve_pages } from "./mem/vmscan.js";
import { VmEvents } from "./mem/vmstat.js";
import { AnonVma } from "./mm/anon_vma.js";
import { arch_pick_mmap_layout } from "./mm/mmap_layout.js";
import type { PgtableAcct } from "./mm/page_table.js";
import { MMF_DISABLE_THP, mm_struct } from "./mm/types.js";
import { type KernelProfile, makeProfile } from "./profile.js";
import {
  type Capabilities,
  comm_of,
  DEFAULT_RLIMITS,
  NO_CAPABILITIES,
  type Rlimits,
  SpawnNoMemoryError,
  task_struct,
} from "./task/task.js";

export interface MachineOptions {
  seed?: number | string;
  profile?: Partial<KernelProfile>;
}

export interface SpawnOptions {
  comm?: string;
  rlimits?: Partial<Rlimits>;
  caps?: Partial<Capabilities>;
  personality?: number;
  /** prctl(PR_SET_THP_DISABLE) before the first mapping. */
  thpDisabled?: boolean;
}

export class Machine {
  readonly profile: KernelProfile;
  readonly rng: Rng;
  readonly fs = new FileSystem();
  readonly frames = new FrameTable();
  readonly tasks = new Map<number, task_struct>();
  /** Tasks in `tasks` that have exited (zombies): they hold no mm and no kernel stack. */
  nr_zombies = 0;
  /** Every address space not yet torn down (the reverse map and the OOM killer walk them). */
  readonly mms = new Set<mm_struct>();
  /** Page-table pages of all those address spaces (NR_PAGETABLE). */
  readonly pgtable_acct: PgtableAcct = { nr_pagetable: 0 };
  /** RAM and swap in pages (fixed at creation). */
  readonly totalram_pages: number;
  readonly total_swap_pages: number;
  /** The zone's min/low/high watermarks (recomputed by profile_changed()). */
  watermarks: Watermarks;
  /** The swap area (profile.swapBytes of slots) and its swap cache. */
  readonly swap: SwapInfo;
  /** Machine-wide event counts (/proc/vmstat pgfault, pswpout, ...). */
  readonly vm_events = new VmEvents();
  /** Where committed changes are reported (null: nobody listens, and nothing is built). */
  sink: EventSink | null = null;
  /** vm_committed_as: pages charged by VM_ACCOUNT mappings (Committed_AS). */
  vm_committed_as = 0;
  /**
   * Pages in vm_committed_as that no VMA accounts for: acct_stack_growth() charges every stack
   * growth, but only VM_ACCOUNT VMAs give their pages back when unmapped (a kernel leak we keep).
   */
  vm_committed_unaccounted = 0;
  private nextPid = 1;

  /** alloc_pid(): pids are handed out in increasing order, so runs are reproducible. */
  alloc_pid(): number {
    return this.nextPid++;
  }
  private nextMmId = 1;
  private nextAnonVmaId = 1;

  constructor(opts: MachineOptions = {}) {
    this.profile = makeProfile(opts.profile);
    this.rng = new Rng(opts.seed ?? 0);
    this.totalram_pages = Math.floor(this.profile.ramBytes / PAGE_SIZE);
    this.total_swap_pages = Math.floor(this.profile.swapBytes / PAGE_SIZE);
    // A swap entry holds its slot where a PTE holds a pfn: 24 bits.
    invariant(this.total_swap_pages < 2 ** 24, "swap larger than 64 GiB");
    this.swap = new SwapInfo(this.total_swap_pages, this.frames);
    this.watermarks = setup_per_zone_wmarks(this);
    this.frames.lruvec.set_policy(this.profile.replacementPolicy);
  }

  /**
   * The sysctl handlers' follow-up after profile knobs were written: watermarks are derived again
   * (vm.min_free_kbytes, vm.watermark_scale_factor) and a new replacement policy takes over the
   * pages where they are.
   */
  profile_changed(): void {
    this.watermarks = setup_per_zone_wmarks(this);
    this.frames.lruvec.set_policy(this.profile.replacementPolicy);
  }

  mm_alloc(): mm_struct {
    const mm = new mm_struct(this.nextMmId++, this.profile.stackGuardGapPages * PAGE_SIZE, TASK_SIZE);
    mm.machine_events = this;
    mm.pgd.acct = this.pgtable_acct;
    this.mms.add(mm);
    return mm;
  }

  emit(e: CoreEvent): void {
    this.sink?.(e);
  }

  anon_vma_alloc(parent: AnonVma | null): AnonVma {
    return new AnonVma(this.nextAnonVmaId++, parent);
  }

  /**
   * A task with an empty address space (no VMAs), its mmap layout picked as execve would pick it.
   * The ELF-like image layout comes with the task lifecycle. Throws SpawnNoMemoryError when there
   * is no room for its kernel stack even after reclaim and the OOM killer (fork's ENOMEM).
   */
  spawnEmpty(opts: SpawnOptions = {}): task_struct {
    if (reserve_pages(this, KSTACK_PAGES, null) !== RESERVE_OK)
      throw new SpawnNoMemoryError("no memory for a new task's kernel stack (ENOMEM)");
    const pid = this.alloc_pid();
    const mm = this.mm_alloc();
    const task = new task_struct(
      pid,
      pid,
      0,
      comm_of(opts.comm ?? "task"),
      mm,
      new FdTable(),
      { ...DEFAULT_RLIMITS, ...opts.rlimits },
      { ...NO_CAPABILITIES, ...opts.caps },
    );
    task.personality = opts.personality ?? 0;
    mm.owner = pid;
    if (opts.thpDisabled) mm.flags |= MMF_DISABLE_THP;
    arch_pick_mmap_layout(this, task, mm);
    this.tasks.set(pid, task);
    this.sink?.({ type: "task_new", pid, mm: mm.id, comm: task.comm });
    return task;
  }
}
