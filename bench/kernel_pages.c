/*
 * Kernel side of bench/pages.ts (`npm run bench:engine`, second part). pages.ts compiles this with
 * `cc -O2 -static` (a static binary: its own address space is 10 VMAs) into a temporary directory
 * and drives it over a pipe, one command per line, one reply per line, so that engine and kernel
 * measurements interleave round by round:
 *
 *   maps             reply "ok <map_count>": VMAs of this process (/proc/self/maps, no vsyscall)
 *   touch N          mmap N pages (anonymous private rw), then time one store of a non-zero byte
 *                    to each page (N first-touch faults); munmap. Reply "ns <elapsed>"
 *   cow N            mmap N pages, store to each, fork a child that waits; time one store to each
 *                    page in the parent (N copy-on-write faults); end the child, munmap
 *   cowfull N        the same with every byte of every page written before the fork
 *   vmas N           map N one-page VMAs that cannot merge (PROT_READ and PROT_NONE alternating,
 *                    untouched) at a fixed place; reply "ok <map_count>" (they stay until "unvmas")
 *   unvmas           unmap them; reply "ok <map_count>"
 *   fork K           time K fork() calls, each child exiting at once (reaped after the timing);
 *                    the reply is the total of the K calls
 *   touched N        keep an N-page anonymous rw mapping with every page stored to (for "fork"),
 *                    replacing the previous one (N = 0 removes it); reply "ok <map_count>"
 *   munmap N         mmap N pages, store to each, then time the munmap of the whole range
 *   quit
 *
 * Transparent huge pages are disabled for the process (PR_SET_THP_DISABLE): the engine models
 * 4 KiB pages, so both sides fault, copy and free the same pages.
 *
 * Any failure replies "err <message>" and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
/* Where the one-page VMAs of "vmas" go: far from everything else in this process. */
#define VMAS_BASE 0x200000000000UL

static char line[256];
static char maps_buf[4 << 20];
static char out_buf[4096];
static long nvmas;
static char *touched;
static unsigned long touched_pages;

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void fail(const char *what) {
  printf("err %s: %s\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static long map_count(void) {
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0) fail("open maps");
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, maps_buf + n, sizeof maps_buf - 1 - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  long c = 0;
  for (size_t i = 0; i < n; i++)
    if (maps_buf[i] == '\n') c++;
  /* [vsyscall] is not a VMA of the mm. */
  if (strstr(maps_buf, "[vsyscall]")) c--;
  return c;
}

static char *map_touched(unsigned long n, int full) {
  char *p = mmap(NULL, n * PG, RW, ANON, -1, 0);
  if (p == MAP_FAILED) fail("mmap");
  for (unsigned long i = 0; i < n; i++) {
    if (full)
      for (unsigned long j = 0; j < PG; j++) p[i * PG + j] = (char)(i + j) | 1;
    else p[i * PG] = (char)(i | 1);
  }
  return p;
}

static long op_touch(unsigned long n) {
  char *p = mmap(NULL, n * PG, RW, ANON, -1, 0);
  if (p == MAP_FAILED) fail("mmap");
  long t0 = now_ns();
  for (unsigned long i = 0; i < n; i++) ((volatile char *)p)[i * PG] = (char)(i | 1);
  long t1 = now_ns();
  munmap(p, n * PG);
  return t1 - t0;
}

static long op_cow(unsigned long n, int full) {
  char *p = map_touched(n, full);
  int fds[2];
  if (pipe(fds)) fail("pipe");
  pid_t c = fork();
  if (c < 0) fail("fork");
  if (c == 0) {
    char b;
    close(fds[1]);
    (void)!read(fds[0], &b, 1); /* until the parent closes the pipe */
    _exit(0);
  }
  close(fds[0]);
  long t0 = now_ns();
  for (unsigned long i = 0; i < n; i++) ((volatile char *)p)[i * PG] = (char)(i | 2);
  long t1 = now_ns();
  close(fds[1]);
  waitpid(c, NULL, 0);
  munmap(p, n * PG);
  return t1 - t0;
}

static long op_fork(long k) {
  long total = 0;
  for (long i = 0; i < k; i++) {
    long t0 = now_ns();
    pid_t c = fork();
    long t1 = now_ns();
    if (c < 0) fail("fork");
    if (c == 0) _exit(0);
    total += t1 - t0;
    waitpid(c, NULL, 0);
  }
  return total;
}

static long op_munmap(unsigned long n) {
  char *p = map_touched(n, 0);
  long t0 = now_ns();
  if (munmap(p, n * PG)) fail("munmap");
  return now_ns() - t0;
}

int main(void) {
  static char in_buf[4096];
  setvbuf(stdout, out_buf, _IOLBF, sizeof out_buf);
  setvbuf(stdin, in_buf, _IOLBF, sizeof in_buf);
  /* The engine models 4 KiB pages: no transparent huge pages here, whatever the host's setting. */
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  struct utsname u;
  uname(&u);
  printf("ready %s\n", u.release);
  while (fgets(line, sizeof line, stdin)) {
    char cmd[32];
    long n = 0;
    if (sscanf(line, "%31s %ld", cmd, &n) < 1) continue;
    if (!strcmp(cmd, "quit")) break;
    if (!strcmp(cmd, "maps")) printf("ok %ld\n", map_count());
    else if (!strcmp(cmd, "touch")) printf("ns %ld\n", op_touch((unsigned long)n));
    else if (!strcmp(cmd, "cow")) printf("ns %ld\n", op_cow((unsigned long)n, 0));
    else if (!strcmp(cmd, "cowfull")) printf("ns %ld\n", op_cow((unsigned long)n, 1));
    else if (!strcmp(cmd, "fork")) printf("ns %ld\n", op_fork(n));
    else if (!strcmp(cmd, "munmap")) printf("ns %ld\n", op_munmap((unsigned long)n));
    else if (!strcmp(cmd, "vmas")) {
      for (long i = 0; i < n; i++) {
        void *a = (void *)(VMAS_BASE + 2 * i * PG);
        if (mmap(a, PG, i & 1 ? PROT_NONE : PROT_READ, ANON | MAP_FIXED_NOREPLACE, -1, 0) != a) fail("mmap vma");
      }
      nvmas = n;
      printf("ok %ld\n", map_count());
    } else if (!strcmp(cmd, "unvmas")) {
      if (nvmas && munmap((void *)VMAS_BASE, 2 * nvmas * PG)) fail("munmap vmas");
      nvmas = 0;
      printf("ok %ld\n", map_count());
    } else if (!strcmp(cmd, "touched")) {
      if (touched) munmap(touched, touched_pages * PG);
      touched = NULL;
      touched_pages = (unsigned long)n;
      if (n) touched = map_touched((unsigned long)n, 0);
      printf("ok %ld\n", map_count());
    } else {
      printf("err unknown command %s\n", cmd);
      fflush(stdout);
      return 1;
    }
  }
  return 0;
}
