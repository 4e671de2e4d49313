/**
 * The kernel knobs that differ between kernels and hosts. A machine is created with one; the
 * conformance suite detects the host's and copies it, so the engine is compared like for like.
 */
import type { ReplacementPolicy } from "./mem/lru.js";

export interface KernelProfile {
  /** Stock kernels map the shared zero page on a read fault of untouched anonymous memory. */
  zeroPage: boolean;
  /** vm.mmap_min_addr (dac_mmap_min_addr): MAP_FIXED below it is EPERM without CAP_SYS_RAWIO. */
  mmapMinAddr: number;
  /** CONFIG_LSM_MMAP_MIN_ADDR: hints below max(this, mmapMinAddr) are raised to it. */
  lsmMmapMinAddr: number;
  /** vm.max_map_count. */
  maxMapCount: number;
  /** vm.overcommit_memory: 0 heuristic, 1 always, 2 never. */
  overcommitMemory: 0 | 1 | 2;
  /** vm.overcommit_ratio (percent of RAM in CommitLimit, mode 2). */
  overcommitRatio: number;
  /** vm.overcommit_kbytes (replaces the ratio when non-zero). */
  overcommitKbytes: number;
  /** vm.admin_reserve_kbytes and vm.user_reserve_kbytes (mode 2). */
  adminReserveKbytes: number;
  userReserveKbytes: number;
  /** CONFIG_TRANSPARENT_HUGEPAGE: 2 MiB-multiple anonymous mappings get 2 MiB-aligned addresses. */
  thpAlignAnon: boolean;
  /**
   * /sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise" (stock kernels): khugepaged
   * runs and raises the derived vm.min_free_kbytes to keep pageblocks free for huge pages.
   */
  thpEnabled: boolean;
  /** Shared anonymous (shmem) mappings of 2 MiB or more get PMD-aligned addresses (shmem THP). */
  shmemThpAlign: boolean;
  /** Page-cache file mappings covering a whole 2 MiB file chunk get PMD-aligned addresses (ext4). */
  fileThpAlign: boolean;
  /** fault_around_bytes (file read faults map this window of cached pages). */
  faultAroundBytes: number;
  /**
   * The backing device's read_ahead_kb: a major fault on a file mapping reads this much around
   * the page (mmap read-around), or from the page on with MADV_SEQUENTIAL.
   */
  readAheadKb: number;
  /** kernel.randomize_va_space: 0 off, 1 stack/mmap/vdso, 2 also brk. */
  randomizeVaSpace: 0 | 1 | 2;
  /** stack_guard_gap, in pages. */
  stackGuardGapPages: number;
  /** vm.legacy_va_layout: bottom-up mmap layout for new processes. */
  legacyVaLayout: boolean;
  /** CONFIG_MEMORY_FAILURE: MADV_HWPOISON and MADV_SOFT_OFFLINE exist (else they are EINVAL). */
  memoryFailure: boolean;
  /** CONFIG_MEM_SOFT_DIRTY: new VMAs get VM_SOFTDIRTY (smaps "sd"). */
  softDirty: boolean;
  /** Protection keys: PROT_EXEC-only mappings become execute-only (reads fault with SEGV_PKUERR). */
  pku: boolean;
  /** Physical memory and swap, in bytes: the page frames tasks and the page cache share, the swap slots. */
  ramBytes: number;
  swapBytes: number;
  /**
   * vm.min_free_kbytes: the min watermark; null until written: derived from RAM as the kernel
   * does at boot (default_min_free_kbytes in mem/page_alloc.ts). The sysctl takes
   * any value from 0 (no min watermark) up, as the kernel's handler does.
   */
  minFreeKbytes: number | null;
  /** vm.watermark_scale_factor: the low and high watermarks' distance, in 1/10000 of RAM. */
  watermarkScaleFactor: number;
  /** vm.swappiness (0..200): how readily reclaim swaps anonymous pages rather than drop page cache. */
  swappiness: number;
  /** How pages are chosen for eviction: Linux's LRU lists, or a classic fifo, lru or clock (teaching). */
  replacementPolicy: ReplacementPolicy;
}

export const STOCK_PROFILE: Readonly<KernelProfile> = Object.freeze({
  zeroPage: true,
  mmapMinAddr: 65536,
  lsmMmapMinAddr: 65536,
  maxMapCount: 65530,
  overcommitMemory: 0,
  overcommitRatio: 50,
  overcommitKbytes: 0,
  adminReserveKbytes: 8192,
  userReserveKbytes: 131072,
  thpAlignAnon: true,
  thpEnabled: true,
  shmemThpAlign: true,
  fileThpAlign: true,
  faultAroundBytes: 65536,
  readAheadKb: 128,
  randomizeVaSpace: 2,
  stackGuardGapPages: 256,
  legacyVaLayout: false,
  pku: false,
  softDirty: true,
  memoryFailure: true,
  ramBytes: 8 * 2 ** 30,
  swapBytes: 2 * 2 ** 30,
  minFreeKbytes: null,
  watermarkScaleFactor: 10,
  swappiness: 60,
  replacementPolicy: "linux",
});

export function makeProfile(overrides: Partial<KernelProfile> = {}): KernelProfile {
  return { ...STOCK_PROFILE, ...overrides };
}
