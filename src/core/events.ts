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
  | (Base & { type: "mm_release"; mm_users: number; mm_count: number });

export type EventSink = (e: CoreEvent) => void;
