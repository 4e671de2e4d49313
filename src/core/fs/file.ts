/**
 * Simulated files: inodes (what a path names), open files (struct file: what an fd and a VMA's
 * vm_file point to) and per-task fd tables. VMA merging compares struct file identity, not the
 * inode: two open() calls of one path never merge, dup()ed fds do.
 */
import { EBADF, EMFILE } from "../abi/errno.js";
import { O_ACCMODE, O_PATH, O_RDONLY, O_RDWR, O_WRONLY } from "../abi/mman.js";
import type { SysResult } from "../lib/result.js";
import { err, ok } from "../lib/result.js";

export type InodeKind = "regular" | "directory" | "chardev" | "fifo" | "shmem";

/** How mmap treats a file: which of the f_op->mmap behaviours it has. */
export type MmapKind =
  | "page_cache" // regular files: ext4-like, page cache backed
  | "shmem" // tmpfs / shared anonymous memory
  | "dev_zero" // /dev/zero: private -> anonymous, shared -> shmem
  | "none"; // no ->mmap: ENODEV

/** MAX_LFS_FILESIZE on 64-bit: LLONG_MAX. Offsets past it in a mapping give EOVERFLOW. */
export const MAX_LFS_FILESIZE = 2 ** 63 - 1;

export class Inode {
  /** The page cache (address_space): page index -> pfn of the cached frame (which it holds a reference on). */
  readonly i_pages = new Map<number, number>();
  /** i_mmap: the VMAs mapping this inode (the reverse map for file pages), kept by vma_link/unlink. */
  readonly i_mmap = new Set<{ vm_start: number; vm_end: number; vm_pgoff: number }>();
  /** The file's contents on "disk", by page index (absent pages are zeros: a sparse file). */
  readonly disk = new Map<number, Uint8Array>();
  /**
   * Shadows of evicted page-cache pages by index (workingset.ts): the page cache's xarray keeps
   * them in the place of the page, so that a refault can tell how long the page was out.
   */
  readonly i_shadows = new Map<number, number>();
  /**
   * shmem pages swapped out, by index: the swap slot holding each (the shmem mapping's xarray holds
   * the swap entry in the page's place). A slot here counts one swap entry.
   */
  readonly i_swap = new Map<number, number>();
  /** Pages charged to Committed_AS for a shmem object (released with the last reference). */
  accounted = 0;
  constructor(
    readonly i_ino: number,
    readonly kind: InodeKind,
    readonly mmapKind: MmapKind,
    public path: string,
    public i_size: number,
    /** st_dev as major:minor. */
    readonly dev: readonly [number, number],
    readonly attrs: { appendOnly?: boolean; noexec?: boolean; swapfile?: boolean } = {},
  ) {}
  /** True once unlinked (maps then shows " (deleted)"). */
  unlinked = false;
}

/** struct file: one open() of an inode. */
export class OpenFile {
  constructor(
    /** Identity for merging and for views (the kernel compares struct file pointers). */
    readonly id: number,
    readonly inode: Inode,
    /** O_* flags given to open(). */
    readonly f_flags: number,
  ) {}
  /** References from fd tables and VMAs; a shmem object is released at zero. */
  f_count = 0;
  /** f_ra.prev_pos: where the last read(2) of this open file ended (-1: none yet). */
  f_ra_prev_pos = -1;
  get readable(): boolean {
    const acc = this.f_flags & O_ACCMODE;
    return !(this.f_flags & O_PATH) && (acc === O_RDONLY || acc === O_RDWR);
  }
  get writable(): boolean {
    const acc = this.f_flags & O_ACCMODE;
    return !(this.f_flags & O_PATH) && (acc === O_WRONLY || acc === O_RDWR);
  }
}

/** The machine-wide namespace of simulated files. */
export class FileSystem {
  private readonly byPath = new Map<string, Inode>();
  /**
   * Inodes with pages in their page cache, by inode number: the reverse map from a page-cache
   * frame (whose mapping is its inode number) to its inode, named or not (unlinked, shmem).
   */
  readonly cached = new Map<number, Inode>();
  private nextIno: number;
  private nextShmemIno = 1024;
  private nextFileId = 1;
  constructor(
    readonly dev: readonly [number, number] = [0xfe, 0x00],
    firstIno = 131073,
  ) {
    this.nextIno = firstIno;
    this.byPath.set("/", new Inode(2, "directory", "none", "/", 4096, dev));
    // devtmpfs numbers as seen on the development machines (/dev/zero maps as "00:06 4").
    this.byPath.set("/dev/zero", new Inode(4, "chardev", "dev_zero", "/dev/zero", 0, [0, 6]));
    this.byPath.set("/dev/null", new Inode(5, "chardev", "none", "/dev/null", 0, [0, 6]));
  }

  lookup(path: string): Inode | undefined {
    return this.byPath.get(path);
  }

  /** Create or replace a regular file of `size` bytes. */
  create(path: string, size: number, attrs: Inode["attrs"] = {}): Inode {
    const inode = new Inode(this.nextIno++, "regular", "page_cache", path, size, this.dev, attrs);
    const old = this.byPath.get(path);
    if (old) old.unlinked = true;
    this.byPath.set(path, inode);
    return inode;
  }

  mkdir(path: string): Inode {
    const inode = new Inode(this.nextIno++, "directory", "none", path, 4096, this.dev);
    this.byPath.set(path, inode);
    return inode;
  }

  unlink(path: string): boolean {
    const inode = this.byPath.get(path);
    if (!inode) return false;
    inode.unlinked = true;
    this.byPath.delete(path);
    return true;
  }

  /** shmem_zero_setup(): the anonymous shmem file behind a MAP_SHARED|MAP_ANONYMOUS mapping. */
  shmemZeroFile(size: number): OpenFile {
    const inode = new Inode(this.nextShmemIno++, "shmem", "shmem", "/dev/zero", size, [0, 1]);
    inode.unlinked = true;
    return this.open(inode, O_RDWR);
  }

  /** A new struct file for `inode` (ids are per machine, so runs are reproducible). */
  open(inode: Inode, flags: number): OpenFile {
    return new OpenFile(this.nextFileId++, inode, flags);
  }

  *files(): IterableIterator<Inode> {
    yield* this.byPath.values();
  }
}

/** RLIMIT_NOFILE default soft limit. */
export const NR_OPEN_DEFAULT = 1024;

/** Slots of the fd table embedded in struct files (the kernel's NR_OPEN_DEFAULT, BITS_PER_LONG). */
const FDTAB_EMBEDDED = 64;

/** alloc_fdtable()'s size for `wanted` slots: the smallest power of two that holds them. */
function fdtable_size(wanted: number): number {
  return wanted <= FDTAB_EMBEDDED ? FDTAB_EMBEDDED : 2 ** Math.ceil(Math.log2(wanted));
}

/** A task's file descriptor table. */
export class FdTable {
  private readonly fds: (OpenFile | undefined)[] = [];
  /**
   * Slots the kernel's table has (fdt->max_fds, /proc/PID/status FDSize): it grows when an fd at
   * or above it is installed (expand_files) and never shrinks; fork sizes the copy by the highest
   * open fd (dup_fd).
   */
  max_fds = FDTAB_EMBEDDED;
  /** files_struct->count: the tasks sharing this table (CLONE_FILES); the last to leave closes the fds. */
  users = 1;
  constructor(readonly max = NR_OPEN_DEFAULT) {}

  get(fd: number): OpenFile | undefined {
    return fd >= 0 && Number.isInteger(fd) ? this.fds[fd] : undefined;
  }

  /** Install at the lowest free descriptor (fds 0-2 are reserved for stdio, as in a real process). */
  install(file: OpenFile, lowest = 3): SysResult<number> {
    for (let fd = lowest; fd < this.max; fd++) {
      if (!this.fds[fd]) {
        this.fds[fd] = file;
        if (fd >= this.max_fds) this.max_fds = fdtable_size(fd + 1);
        return ok(fd);
      }
    }
    return err(EMFILE);
  }

  close(fd: number): SysResult<number> {
    if (!this.get(fd)) return err(EBADF);
    this.fds[fd] = undefined;
    return ok(0);
  }

  /**
   * dup_fd(): a copy for fork, or for execve's unshare_files. The open files are shared between
   * the tables, each taking one more reference.
   */
  clone(): FdTable {
    const t = new FdTable(this.max);
    let open = 0;
    for (let i = 0; i < this.fds.length; i++) {
      const f = this.fds[i];
      t.fds[i] = f;
      if (f) {
        f.f_count++;
        open = i + 1;
      }
    }
    // count_open_files() counts whole words of the open-fd bitmap.
    t.max_fds = fdtable_size(Math.ceil(open / FDTAB_EMBEDDED) * FDTAB_EMBEDDED);
    return t;
  }

  *entries(): IterableIterator<[number, OpenFile]> {
    for (let i = 0; i < this.fds.length; i++) {
      const f = this.fds[i];
      if (f) yield [i, f];
    }
  }
}
