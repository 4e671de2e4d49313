/*
 * Golden capture for test/core/mm/procfs.test.ts: builds a set of mappings with MAP_FIXED inside a
 * private 16 MiB window of its own address space, then prints what the kernel shows for them in
 * /proc/self/maps and /proc/self/smaps, and its /proc/self/status memory lines and statm.
 * The test replays the same calls (same addresses, same order) on the engine and compares.
 *
 * Usage: procfs_golden DIR   (DIR: an existing directory on a disk filesystem; files are made there)
 * Output sections: "#facts", "#file NAME PATH DEV INO", "#maps", "#smaps", "#status", "#statm", "#end".
 * Keep the step list in sync with the engine replay in procfs.test.ts (same group letters).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define PG 4096UL
#define W 0x100000000000UL
#define WLEN 0x1000000UL
#define DATA_SIZE (10 * PG + 100) /* 11 pages, the last one partial */
#define GONE_SIZE (2 * PG)

static void die(const char *what) {
  fprintf(stderr, "procfs_golden: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* mmap(W + off, pages, prot, flags | MAP_FIXED, fd, foff); fails loudly. */
static void fx(unsigned long off, unsigned long pages, int prot, int flags, int fd, off_t foff) {
  void *p = mmap((void *)(W + off), pages * PG, prot, flags | MAP_FIXED, fd, foff);
  if (p == MAP_FAILED) die("mmap");
}
static void wr(unsigned long off) { *(volatile char *)(W + off) = 1; }
static void rd(unsigned long off) { (void)*(volatile char *)(W + off); }
static void prot(unsigned long off, unsigned long pages, int p) {
  if (mprotect((void *)(W + off), pages * PG, p)) die("mprotect");
}
static void adv(unsigned long off, unsigned long pages, int a) {
  if (madvise((void *)(W + off), pages * PG, a)) die("madvise");
}

static void make_file(const char *path, unsigned long size) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("create");
  char *buf = malloc(size);
  for (unsigned long i = 0; i < size; i++) buf[i] = (char)('a' + i % 26);
  /* One write per page: the page cache then holds order-0 folios. A single large write makes large
   * folios, and dirtying one page through a shared mapping would show its whole folio as dirty. */
  for (unsigned long o = 0; o < size; o += PG) {
    unsigned long n = size - o < PG ? size - o : PG;
    if (write(fd, buf + o, n) != (ssize_t)n) die("write");
  }
  /* Written and synced: every page is in the page cache and clean (the engine replays this state). */
  if (fsync(fd)) die("fsync");
  free(buf);
  close(fd);
}

static void print_file(const char *name, const char *path) {
  struct stat st;
  if (stat(path, &st)) die("stat");
  printf("#file %s %s %02x:%02x %lu\n", name, path, major(st.st_dev), minor(st.st_dev),
         (unsigned long)st.st_ino);
}

/* Host facts the engine profile must copy: shared zero page, protection keys, soft-dirty; and
 * whether DIR is on a disk filesystem (on tmpfs the files would be shmem, not page cache).
 * The zero page is read off the probe VMA's smaps Rss after one read: a resident-set delta taken
 * from statm would also count the pages stdio's first fopen() touches. */
static void facts(const char *dir) {
  struct statfs sfs;
  if (statfs(dir, &sfs)) die("statfs");
  char *p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap probe");
  (void)*(volatile char *)p;
  int pku = 0, sd = 0, on = 0, rss = -1;
  char b[1024];
  FILE *f = fopen("/proc/self/smaps", "r");
  while (fgets(b, sizeof b, f)) {
    unsigned long s, e;
    if (sscanf(b, "%lx-%lx ", &s, &e) == 2 && strchr(b, ' ') - b > 8) on = (s == (unsigned long)p);
    if (!strncmp(b, "ProtectionKey:", 14)) pku = 1;
    if (on && !strncmp(b, "Rss:", 4)) rss = atoi(b + 4);
    if (on && !strncmp(b, "VmFlags:", 8) && strstr(b, " sd ")) sd = 1;
  }
  fclose(f);
  if (rss < 0) die("probe VMA not in smaps");
  munmap(p, PG);
  printf("#facts zeropage=%d pku=%d softdirty=%d diskfs=%d\n", rss == 0, pku, sd,
         sfs.f_type != 0x01021994 /* TMPFS_MAGIC */);
}

/* Print the maps lines (or smaps blocks) of VMAs that start inside the window. */
static void dump(const char *file) {
  char b[1024];
  FILE *f = fopen(file, "r");
  int on = 0;
  while (fgets(b, sizeof b, f)) {
    unsigned long s, e;
    char c;
    if (sscanf(b, "%lx-%lx %c", &s, &e, &c) == 3 && (c == 'r' || c == '-')) on = s >= W && s < W + WLEN;
    if (on) fputs(b, stdout);
  }
  fclose(f);
}

static void status_mem(void) {
  char b[1024];
  FILE *f = fopen("/proc/self/status", "r");
  int on = 0;
  while (fgets(b, sizeof b, f)) {
    if (!strncmp(b, "VmPeak:", 7)) on = 1;
    if (on) fputs(b, stdout);
    if (!strncmp(b, "HugetlbPages:", 13)) on = 0;
  }
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: procfs_golden DIR\n");
    return 2;
  }
  /* Stay on one CPU: MADV_FREE's per-CPU lazyfree batch then drains deterministically (see M3). */
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(sched_getcpu(), &cpus);
  sched_setaffinity(0, sizeof cpus, &cpus);
  setvbuf(stdout, NULL, _IOFBF, 1 << 20);

  char data[4096], gone[4096];
  snprintf(data, sizeof data, "%s/data.bin", argv[1]);
  snprintf(gone, sizeof gone, "%s/gone.bin", argv[1]);
  make_file(data, DATA_SIZE);
  make_file(gone, GONE_SIZE);
  facts(argv[1]);
  print_file("data.bin", data);
  print_file("gone.bin", gone);

  const int A = MAP_PRIVATE | MAP_ANONYMOUS, RW = PROT_READ | PROT_WRITE;

  /* Group A: anonymous mappings, faults, mprotect, munmap (W + 0 .. W + 0x100000). */
  fx(0x00000, 4, RW, A, -1, 0);                     /* A1 untouched rw */
  fx(0x10000, 4, PROT_READ, A, -1, 0);              /* A2 ro, page 0 read */
  rd(0x10000);
  fx(0x20000, 4, PROT_NONE, A, -1, 0);              /* A3 PROT_NONE */
  fx(0x30000, 8, RW, A, -1, 0);                     /* A4 partly touched */
  wr(0x30000), wr(0x32000), rd(0x35000);
  fx(0x40000, 4, RW, A | MAP_POPULATE, -1, 0);      /* A5 MAP_POPULATE */
  fx(0x50000, 8, RW, A, -1, 0);                     /* A6 touched, then split by mprotect */
  for (int i = 0; i < 8; i++) wr(0x50000 + i * PG);
  prot(0x52000, 2, PROT_READ);
  prot(0x56000, 2, PROT_NONE);
  fx(0x60000, 4, RW, A, -1, 0);                     /* A7 untouched rw -> ro (drops VM_ACCOUNT) */
  prot(0x60000, 4, PROT_READ);
  fx(0x70000, 4, RW, A | MAP_NORESERVE, -1, 0);     /* A8 NORESERVE */
  wr(0x71000);
  fx(0x80000, 4, RW, A | MAP_GROWSDOWN, -1, 0);     /* A9 GROWSDOWN */
  wr(0x83000);
  fx(0x90000, 2, RW, A | MAP_STACK, -1, 0);         /* A10 MAP_STACK */
  wr(0x90000);
  fx(0xa0000, 4, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0); /* A11 shared anon, split */
  wr(0xa0000), rd(0xa2000);
  prot(0xa3000, 1, PROT_READ);
  fx(0xb0000, 2, RW, A, -1, 0);                     /* A12 touched + adjacent new mapping: merged */
  wr(0xb0000);
  fx(0xb2000, 2, RW, A, -1, 0);
  wr(0xb2000);
  fx(0xc0000, 2, RW | PROT_EXEC, A, -1, 0);         /* A13 rwx */
  wr(0xc0000);
  fx(0xd0000, 2, RW, A | MAP_LOCKED, -1, 0);        /* A14 MAP_LOCKED */
  fx(0xe0000, 2, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0); /* A15 shared anon ro, read */
  rd(0xe0000);
  fx(0xf0000, 6, RW, A, -1, 0);                     /* A16 munmap a hole */
  wr(0xf0000), wr(0xf5000);
  if (munmap((void *)(W + 0xf2000), 2 * PG)) die("munmap");

  /* Group F: file mappings (W + 0x100000 .. W + 0x200000). */
  int fd = open(data, O_RDWR);
  int fr = open(gone, O_RDONLY);
  if (fd < 0 || fr < 0) die("open");
  fx(0x100000, 4, PROT_READ, MAP_PRIVATE, fd, 0);   /* F1 private ro, read (fault-around) */
  rd(0x100000);
  fx(0x110000, 4, RW, MAP_SHARED, fd, 4 * PG);      /* F2 shared rw at offset 4 pages */
  wr(0x110000), rd(0x112000);
  fx(0x120000, 4, RW, MAP_PRIVATE, fd, 0);          /* F3 private rw over F1's pages, one COW */
  rd(0x120000), wr(0x121000);
  fx(0x130000, 8, PROT_READ, MAP_PRIVATE, fd, 8 * PG); /* F4 runs past EOF */
  rd(0x130000);
  fx(0x140000, 2, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0); /* F5 r-x untouched */
  fx(0x150000, 2, PROT_READ, MAP_SHARED, fr, 0);    /* F6 shared ro from a RO fd, then unlinked */
  rd(0x150000);
  if (unlink(gone)) die("unlink");
  fx(0x160000, 2, RW, MAP_PRIVATE, fd, 2 * PG);     /* F7 private rw, write fault (COW, no fault-around) */
  wr(0x160000);

  /* Group M: madvise (W + 0x200000 .. W + 0x600000). */
  fx(0x200000, 12, RW, A, -1, 0);                   /* M1 one advice per odd page */
  for (int i = 0; i < 12; i++) wr(0x200000 + i * PG);
  adv(0x201000, 1, MADV_DONTFORK);
  adv(0x203000, 1, MADV_RANDOM);
  adv(0x205000, 1, MADV_SEQUENTIAL);
  adv(0x207000, 1, MADV_DONTDUMP);
  adv(0x209000, 1, MADV_WIPEONFORK);
  adv(0x20b000, 1, MADV_NOHUGEPAGE);
  fx(0x210000, 4, RW, A, -1, 0);                    /* M2 DONTNEED */
  for (int i = 0; i < 4; i++) wr(0x210000 + i * PG);
  adv(0x211000, 2, MADV_DONTNEED);
  /* M3 MADV_FREE of 31 pages: folio_mark_lazyfree() queues folios in a per-CPU batch of 31 that
   * is only moved (swapbacked cleared: LazyFree) when full, so fewer pages would show LazyFree 0. */
  fx(0x220000, 32, RW, A, -1, 0);
  for (int i = 0; i < 32; i++) wr(0x220000 + i * PG);
  adv(0x221000, 31, MADV_FREE);
  fx(0x250000, 4, RW, A, -1, 0);                    /* M4 guard page */
  adv(0x250000, 1, MADV_GUARD_INSTALL);
  wr(0x252000);
  fx(0x260000, 4, RW, A, -1, 0);                    /* M5 HUGEPAGE, too small for a THP */
  adv(0x260000, 4, MADV_HUGEPAGE);
  fx(0x270000, 4, RW, A, -1, 0);                    /* M6 DONTFORK then DOFORK: merged again */
  wr(0x270000);
  adv(0x271000, 2, MADV_DONTFORK);
  adv(0x271000, 2, MADV_DOFORK);
  fx(0x400000, 512, RW, A, -1, 0);                  /* M7 HUGEPAGE on an aligned 2 MiB: THPeligible */
  adv(0x400000, 512, MADV_HUGEPAGE);

  /* Group L: mlock (W + 0x600000 .. W + 0x1000000). */
  fx(0x600000, 4, RW, A, -1, 0);                    /* L1 mlock the middle */
  if (mlock((void *)(W + 0x601000), 2 * PG)) die("mlock");
  fx(0x610000, 4, RW, A, -1, 0);                    /* L2 MLOCK_ONFAULT */
  if (syscall(SYS_mlock2, W + 0x610000, 4 * PG, MLOCK_ONFAULT)) die("mlock2");
  wr(0x610000);
  fx(0x620000, 4, RW, A, -1, 0);                    /* L3 mlock all, munlock the top half */
  if (mlock((void *)(W + 0x620000), 4 * PG)) die("mlock");
  if (munlock((void *)(W + 0x622000), 2 * PG)) die("munlock");
  fx(0x630000, 2, PROT_NONE, A, -1, 0);             /* L4 PROT_NONE mlocked */
  /* Fails with ENOMEM (PROT_NONE cannot be populated) but leaves the VMA VM_LOCKED. */
  int l4 = mlock((void *)(W + 0x630000), 2 * PG);
  printf("#note L4 mlock(PROT_NONE) = %d %s\n", l4, l4 ? strerrorname_np(errno) : "");

  printf("#maps\n");
  dump("/proc/self/maps");
  printf("#smaps\n");
  dump("/proc/self/smaps");
  printf("#status\n");
  status_mem();
  printf("#statm\n");
  FILE *f = fopen("/proc/self/statm", "r");
  char b[256];
  if (fgets(b, sizeof b, f)) fputs(b, stdout);
  fclose(f);
  printf("#end\n");
  return 0;
}
