/**
 * Events: plain-data facts the core emits after it commits a change. Delivery (sequence numbers,
 * buffering, filters) lives outside the core; here a machine just hands each event to its sink.
 * Addresses are numbers here; the wire format turns them into hex strings.
 */

/** A VMA as events show it. */
export interface VmaFact {
  start: number;
  end: number;
  flags: number;
  pgoff: number;
  file: string | null;
  anon_vma: number | null;
}

interface Base {
  pid: number;
  /** The mm_struct id the event is about. */
  mm: number;
}

export type CoreEvent =
  | (Base & {
      type: "syscall";
      /** mmap, munmap, mprotect, mremap, brk, madvise, mlock, mlock2, munlock, mlockall, munlockall, msync, mincore. */
      call: string;
      args: Record<string, number | string>;
      /** The return value, or -1 with errno. */
      ret: number;
      errno: string | null;
      /** VMAs intersecting the affected ranges, before and after the call. */
      before: VmaFact[];
      after: VmaFact[];
    })
  | (Base & { type: "vma_split"; vma: VmaFact; at: number })
  | (Base & { type: "vma_merge"; into: VmaFact; removed: number })
  | (Base & {
      type: "fault";
      addr: number;
      access: "read" | "write" | "exec";
      kind: string;
      result: "ok" | "SIGSEGV" | "SIGBUS";
      code: string | null;
      major: boolean;
      pages: number;
      vma: VmaFact | null;
    })
  | (Base & { type: "task_new" | "execve"; comm: string })
  /** status: the exit(2) code; signal: the fatal signal number instead (SIGKILL). */
  | (Base & { type: "exit"; comm: string; status: number; signal?: number })
  | (Base & { type: "fork" | "clone"; child: number; flags: number })
  | (Base & { type: "mm_release"; mm_users: number; mm_count: number })
  /**
   * A reclaim run (pid/mm: the task whose allocation ran it): kswapd's (to the high watermark),
   * direct (at the min watermark), or MADV_PAGEOUT's. Pages scanned and reclaimed (anon and file),
   * of which swapped out and file pages written back; free pages after it.
   */
  | (Base & {
      type: "reclaim";
      mode: "kswapd" | "direct" | "pageout";
      policy: string;
      scanned: number;
      reclaimed: number;
      anon: number;
      file: number;
      swapped: number;
      written: number;
      free: number;
    })
  /**
   * An anonymous page left memory for swap slot `slot` (pid/mm/addr: its first mapping, or the
   * reclaiming task's with addr null when nothing mapped it); `mapped` PTEs now hold the swap
   * entry; `written`: it was written (false: the slot already held its bytes, or it was zero-filled).
   */
  | (Base & { type: "swap_out"; addr: number | null; slot: number; mapped: number; written: boolean })
  /** A swapped-out page came back for a fault at addr: read from swap (major) or found in the swap cache. */
  | (Base & { type: "swap_in"; addr: number; slot: number; major: boolean })
  /** Reclaim wrote a dirty page-cache page (page `index` of `file`) back before dropping it. */
  | (Base & { type: "writeback"; file: string; index: number })
  /**
   * The OOM killer killed a process (pid/mm: the victim) and every task sharing its mm (`killed`),
   * chosen by oom_badness `points`; its memory as the kernel reports it, in kB; `trigger`: the pid
   * whose allocation ran out of memory (0: none).
   */
  | (Base & {
      type: "oom_kill";
      comm: string;
      points: number;
      oom_score_adj: number;
      total_vm: number;
      anon_rss: number;
      file_rss: number;
      shmem_rss: number;
      swapents: number;
      pgtables: number;
      killed: number[];
      trigger: number;
    });

export type EventSink = (e: CoreEvent) => void;
