/** <asm-generic/mman-common.h>, <asm/mman.h> (x86_64) and <linux/mman.h> values. */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_MASK = -4096; // as in the kernel: ~(PAGE_SIZE - 1), used through helpers in ulong.ts
export const PMD_SIZE = 2 * 1024 * 1024;
export const PUD_SIZE = 1024 * 1024 * 1024;

/** TASK_SIZE_MAX on x86_64 with 4-level paging: (1 << 47) - PAGE_SIZE. */
export const TASK_SIZE = 0x7ffffffff000;
/** DEFAULT_MAP_WINDOW: the 47-bit user window. */
export const DEFAULT_MAP_WINDOW = 0x7ffffffff000;

export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_DROPPABLE = 0x08;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_32BIT = 0x40;
export const MAP_GROWSDOWN = 0x100;
export const MAP_DENYWRITE = 0x800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_UNINITIALIZED = 0x4000000;
/** MAP_HUGE_SHIFT / MAP_HUGE_MASK: the huge page size log in bits 26..31. */
export const MAP_HUGE_SHIFT = 26;
export const MAP_HUGE_MASK = 0x3f;
/**
 * The flags a plain MAP_SHARED mapping keeps (LEGACY_MAP_MASK); others are silently dropped, and
 * MAP_SHARED_VALIDATE refuses them. It includes MAP_32BIT and the huge-size bits (observed).
 */
export const LEGACY_MAP_MASK =
  ((MAP_HUGE_MASK << MAP_HUGE_SHIFT) >>> 0) |
  MAP_32BIT |
  MAP_SHARED |
  MAP_PRIVATE |
  MAP_FIXED |
  MAP_ANONYMOUS |
  MAP_DENYWRITE |
  MAP_EXECUTABLE |
  MAP_UNINITIALIZED |
  MAP_GROWSDOWN |
  MAP_LOCKED |
  MAP_NORESERVE |
  MAP_POPULATE |
  MAP_NONBLOCK |
  MAP_STACK |
  MAP_HUGETLB;

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;
export const MLOCK_ONFAULT = 1;

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
export const MADV_DONTNEED_LOCKED = 24;
export const MADV_COLLAPSE = 25;
export const MADV_HWPOISON = 100;
export const MADV_SOFT_OFFLINE = 101;
export const MADV_GUARD_INSTALL = 102;
export const MADV_GUARD_REMOVE = 103;

/** open(2) flags that matter for mappings. */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_PATH = 0o10000000;

/** Symbolic names for the wire formats (HTTP, traces) and for messages. */
export const PROT_NAMES: Readonly<Record<string, number>> = {
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  PROT_SEM,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
};
export const MAP_NAMES: Readonly<Record<string, number>> = {
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_SHARED_VALIDATE,
  MAP_DROPPABLE,
  MAP_FIXED,
  MAP_ANONYMOUS,
  MAP_ANON: MAP_ANONYMOUS,
  MAP_32BIT,
  MAP_GROWSDOWN,
  MAP_DENYWRITE,
  MAP_EXECUTABLE,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_NONBLOCK,
  MAP_STACK,
  MAP_HUGETLB,
  MAP_SYNC,
  MAP_FIXED_NOREPLACE,
  MAP_UNINITIALIZED,
};
export const MREMAP_NAMES: Readonly<Record<string, number>> = {
  MREMAP_MAYMOVE,
  MREMAP_FIXED,
  MREMAP_DONTUNMAP,
};
export const MS_NAMES: Readonly<Record<string, number>> = { MS_ASYNC, MS_INVALIDATE, MS_SYNC };
export const MCL_NAMES: Readonly<Record<string, number>> = { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT };
export const MLOCK_NAMES: Readonly<Record<string, number>> = { MLOCK_ONFAULT };
export const MADV_NAMES: Readonly<Record<string, number>> = {
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_REMOVE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_DONTDUMP,
  MADV_DODUMP,
  MADV_WIPEONFORK,
  MADV_KEEPONFORK,
  MADV_COLD,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_DONTNEED_LOCKED,
  MADV_COLLAPSE,
  MADV_HWPOISON,
  MADV_SOFT_OFFLINE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
};
export const O_NAMES: Readonly<Record<string, number>> = {
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_CREAT,
  O_TRUNC,
  O_APPEND,
  O_PATH,
};
