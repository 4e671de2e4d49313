/*
 * Kernel side of `npm run bench:engine`. bench/engine.ts compiles this with `cc -O2` into a
 * temporary directory and drives it over a pipe, one command per line, one reply per line, so the
 * engine and kernel measurements can be interleaved round by round:
 *
 *   setup N        build the address space for map_count N (see below); reply
 *                  "ok <base> <created> <total> <W hex> <Wend hex>"
 *   run OP ITERS   run OP ITERS times; reply "ns <elapsed ns for the whole batch>"
 *   teardown       unmap what setup created; reply "ok <map_count>"
 *   quit
 *
 * Any failure (a syscall error, a mapping that lands somewhere unexpected, a merge that should
 * not happen) replies "err <message>" and exits: a benchmark that measures the wrong thing is
 * worse than none.
 *
 * Layout built by setup, top-down from mmap_base (mirrored exactly by the engine side):
 *   - the process's own mappings (libc, ld.so, vdso, ...) sit just below mmap_base. Any free
 *     space among them (and between them and mmap_base) is filled with PROT_NONE, so that no
 *     gap exists above the window. `base` = map_count after that (exe, heap, stack included).
 *   - the window, ending exactly where those mappings start (Wend): created-1 one-page PROT_READ
 *     VMAs, each with a one-page hole below it. Holes keep them from merging; PROT_READ keeps a
 *     rw page mapped into a hole from merging with them.
 *   - 1024 pages below the window: one 16-page rw VMA, the mprotect target (also counted in
 *     created). The space between it and the window is the first gap of two pages or more.
 *
 * Ops:
 *   1 mmap+munmap of 1 page, anonymous private rw, no hint: it lands in the highest 1-page hole
 *     of the window (checked on every call) and merges with nothing.
 *   2 mprotect(page 8 of the 16-page VMA, PROT_READ) then back to PROT_READ|PROT_WRITE:
 *     a split into three VMAs then a merge back into one. One op = both calls.
 *   3 msync(addr, 4096, MS_ASYNC) at random page addresses in [W, Wend): mmap_read_lock +
 *     one find_vma() + unlock and nothing else (mm/msync.c returns right after the first
 *     find_vma for MS_ASYNC: 0 on a mapped page, -ENOMEM on a hole), interleaved in chunks of
 *     256 with msync(addr, 0, MS_ASYNC), the same syscall returning before the lock
 *     (end == start). The reply carries both totals, "ns <1 page> <len 0>": their difference
 *     estimates lock + find_vma + unlock without the syscall entry/exit.
 *   4 mmap+munmap of 2 pages, anonymous private rw, no hint: the top-down gap search has to skip
 *     every 1-page hole of the window; it lands at W - 4096, just below the window (checked).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
/* Headroom under vm.max_map_count: an op adds at most two VMAs (the mprotect split). */
#define MARGIN 16
#define MPROT_PAGES 16UL
#define MPROT_PAGE 8UL
#define MPROT_BELOW 1024UL
#define NADDRS 4096
#define GIB (1UL << 30)
#define MAX_VMAS 131072

/* All buffers are static: nothing may be mmap'ed (malloc) once the layout is built. */
static char maps_buf[48 << 20];
static uintptr_t vs[MAX_VMAS], ve[MAX_VMAS];
static int nvmas;
static char out_buf[4096];
static char in_buf[4096];
static size_t in_len;

static uintptr_t W, Wend, M, hole1, gua2;
static long base_count, created;
static uintptr_t addrs[NADDRS];

static void put(const char *s, size_t n) {
  while (n) {
    ssize_t w = write(1, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      _exit(2);
    }
    s += w;
    n -= (size_t)w;
  }
}

static void reply(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out_buf, sizeof out_buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0 || n > (int)sizeof out_buf - 2) n = (int)sizeof out_buf - 2;
  out_buf[n++] = '\n';
  put(out_buf, (size_t)n);
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(out_buf, sizeof out_buf, "err ");
  n += vsnprintf(out_buf + n, sizeof out_buf - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof out_buf - 2) n = (int)sizeof out_buf - 2;
  out_buf[n++] = '\n';
  put(out_buf, (size_t)n);
  exit(1);
}

/* Parse /proc/self/maps into vs/ve (user addresses only: [vsyscall] is not a VMA). */
static void read_maps(void) {
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0) die("open /proc/self/maps: %s", strerror(errno));
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, maps_buf + len, sizeof maps_buf - 1 - len);
    if (r < 0) die("read /proc/self/maps: %s", strerror(errno));
    if (r == 0) break;
    len += (size_t)r;
    if (len >= sizeof maps_buf - 1) die("/proc/self/maps too large");
  }
  close(fd);
  maps_buf[len] = 0;
  nvmas = 0;
  char *p = maps_buf;
  while (*p) {
    char *q;
    uintptr_t s = strtoul(p, &q, 16);
    uintptr_t e = strtoul(q + 1, &q, 16);
    if (s < (1UL << 47)) {
      if (nvmas >= MAX_VMAS) die("too many VMAs");
      vs[nvmas] = s;
      ve[nvmas] = e;
      nvmas++;
    }
    char *nl = strchr(q, '\n');
    if (!nl) break;
    p = nl + 1;
  }
}

static void map_fixed(uintptr_t addr, size_t len, int prot) {
  int flags = ANON | MAP_FIXED_NOREPLACE | (prot == PROT_NONE ? MAP_NORESERVE : 0);
  void *r = mmap((void *)addr, len, prot, flags, -1, 0);
  if (r == MAP_FAILED) die("mmap(%#lx, %#zx) fixed: %s", (unsigned long)addr, len, strerror(errno));
  if ((uintptr_t)r != addr) die("mmap(%#lx) fixed landed at %p", (unsigned long)addr, r);
}

static long read_long(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  char b[64];
  ssize_t r = read(fd, b, sizeof b - 1);
  close(fd);
  if (r <= 0) die("read %s", path);
  b[r] = 0;
  return strtol(b, NULL, 10);
}

static uint64_t xs_state;
static uint64_t xorshift(void) {
  uint64_t x = xs_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return xs_state = x;
}

/* mmap of len with no hint must land at want and add exactly one VMA; then unmap it. */
static void probe(size_t len, uintptr_t want, long want_count) {
  void *p = mmap(NULL, len, RW, ANON, -1, 0);
  if (p == MAP_FAILED) die("probe mmap(%#zx): %s", len, strerror(errno));
  read_maps();
  if ((uintptr_t)p != want) die("probe mmap(%#zx) landed at %p, expected %#lx", len, p, (unsigned long)want);
  if (nvmas != want_count) die("probe mmap(%#zx): %d VMAs, expected %ld (merged?)", len, nvmas, want_count);
  if (munmap(p, len)) die("probe munmap: %s", strerror(errno));
}

static void setup(long n_req) {
  /*
   * Close every gap above the window: the highest free page below mmap_base is where a 1-page
   * no-hint mmap goes. While the gap around it is small (inside the library area), fill it with
   * PROT_NONE up to that page and look again. A gap of 1 GiB or more is the one below all of
   * the process's top-down mappings: the window goes right under them.
   */
  uintptr_t libs_low = 0;
  for (int tries = 0;; tries++) {
    if (tries > 1000) die("could not close the gaps below mmap_base");
    void *pr = mmap(NULL, PG, RW, ANON, -1, 0);
    if (pr == MAP_FAILED) die("mmap: %s", strerror(errno));
    uintptr_t p = (uintptr_t)pr;
    if (munmap(pr, PG)) die("munmap: %s", strerror(errno));
    read_maps();
    uintptr_t below = 0;
    for (int i = 0; i < nvmas && ve[i] <= p; i++) below = ve[i];
    if (p - below >= GIB) {
      libs_low = p + PG;
      break;
    }
    map_fixed(below, p + PG - below, PROT_NONE);
  }
  read_maps();
  base_count = nvmas;
  long maxmap = read_long("/proc/sys/vm/max_map_count");
  created = n_req;
  if (created > maxmap - MARGIN - base_count) created = maxmap - MARGIN - base_count;
  long m = created - 1; /* one-page window VMAs; the other one is the mprotect target */
  if (m < 2) die("map_count %ld too small (base %ld)", n_req, base_count);
  Wend = libs_low;
  W = Wend - 2UL * (uintptr_t)m * PG;
  M = W - MPROT_BELOW * PG;
  for (long i = 0; i < m; i++) map_fixed(W + (2UL * (uintptr_t)i + 1) * PG, PG, PROT_READ);
  map_fixed(M, MPROT_PAGES * PG, RW);
  read_maps();
  if (nvmas != base_count + created) die("setup: %d VMAs, expected %ld", nvmas, base_count + created);
  hole1 = W + 2UL * (uintptr_t)(m - 1) * PG;
  gua2 = W - PG;
  probe(PG, hole1, base_count + created + 1);
  probe(2 * PG, gua2, base_count + created + 1);
  uintptr_t mp = M + MPROT_PAGE * PG;
  if (mprotect((void *)mp, PG, PROT_READ)) die("mprotect: %s", strerror(errno));
  read_maps();
  if (nvmas != base_count + created + 2) die("mprotect did not split in three (%d VMAs)", nvmas);
  if (mprotect((void *)mp, PG, RW)) die("mprotect: %s", strerror(errno));
  read_maps();
  if (nvmas != base_count + created) die("mprotect back did not merge (%d VMAs)", nvmas);
  xs_state = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < NADDRS; i++) addrs[i] = W + (uintptr_t)(xorshift() % (2UL * (uintptr_t)m)) * PG;
  reply("ok %ld %ld %d %#lx %#lx", base_count, created, nvmas, (unsigned long)W, (unsigned long)Wend);
}

static void teardown(void) {
  if (munmap((void *)M, Wend - M)) die("teardown munmap: %s", strerror(errno));
  read_maps();
  if (nvmas != base_count) die("teardown: %d VMAs, expected %ld", nvmas, base_count);
  reply("ok %d", nvmas);
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void run(int op, long iters) {
  uint64_t t0 = now_ns();
  switch (op) {
    case 1:
      for (long i = 0; i < iters; i++) {
        void *p = mmap(NULL, PG, RW, ANON, -1, 0);
        if ((uintptr_t)p != hole1) die("op1 mmap -> %p, expected %#lx", p, (unsigned long)hole1);
        if (munmap(p, PG)) die("op1 munmap: %s", strerror(errno));
      }
      break;
    case 2: {
      void *mp = (void *)(M + MPROT_PAGE * PG);
      for (long i = 0; i < iters; i++) {
        if (mprotect(mp, PG, PROT_READ)) die("op2 mprotect R: %s", strerror(errno));
        if (mprotect(mp, PG, RW)) die("op2 mprotect RW: %s", strerror(errno));
      }
      break;
    }
    case 3: {
      /* Paired: chunks of msync(addr, 4096) and msync(addr, 0) alternate, each timed apart. */
      uint64_t with_lookup = 0, without = 0;
      for (long done = 0; done < iters;) {
        long chunk = iters - done < 256 ? iters - done : 256;
        uint64_t a = now_ns();
        for (long i = done; i < done + chunk; i++) {
          if (msync((void *)addrs[i & (NADDRS - 1)], PG, MS_ASYNC) && errno != ENOMEM)
            die("op3 msync: %s", strerror(errno));
        }
        uint64_t b = now_ns();
        for (long i = done; i < done + chunk; i++) {
          if (msync((void *)addrs[i & (NADDRS - 1)], 0, MS_ASYNC)) die("op3 msync len 0: %s", strerror(errno));
        }
        uint64_t c = now_ns();
        with_lookup += b - a;
        without += c - b;
        done += chunk;
      }
      reply("ns %llu %llu", (unsigned long long)with_lookup, (unsigned long long)without);
      return;
    }
    case 4:
      for (long i = 0; i < iters; i++) {
        void *p = mmap(NULL, 2 * PG, RW, ANON, -1, 0);
        if ((uintptr_t)p != gua2) die("op4 mmap -> %p, expected %#lx", p, (unsigned long)gua2);
        if (munmap(p, 2 * PG)) die("op4 munmap: %s", strerror(errno));
      }
      break;
    default:
      die("unknown op %d", op);
  }
  uint64_t t1 = now_ns();
  reply("ns %llu", (unsigned long long)(t1 - t0));
}

/* One line from stdin (without the newline), or NULL at EOF. */
static char *read_line(void) {
  static char line[sizeof in_buf];
  for (;;) {
    char *nl = memchr(in_buf, '\n', in_len);
    if (nl) {
      size_t n = (size_t)(nl - in_buf);
      memcpy(line, in_buf, n);
      line[n] = 0;
      memmove(in_buf, nl + 1, in_len - n - 1);
      in_len -= n + 1;
      return line;
    }
    if (in_len == sizeof in_buf) die("command line too long");
    ssize_t r = read(0, in_buf + in_len, sizeof in_buf - in_len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return NULL;
    in_len += (size_t)r;
  }
}

int main(void) {
  struct utsname u;
  if (uname(&u)) die("uname: %s", strerror(errno));
  reply("ready %ld %s", read_long("/proc/sys/vm/max_map_count"), u.release);
  for (char *line; (line = read_line());) {
    if (!strncmp(line, "setup ", 6)) {
      setup(strtol(line + 6, NULL, 10));
    } else if (!strncmp(line, "run ", 4)) {
      char *q;
      int op = (int)strtol(line + 4, &q, 10);
      long iters = strtol(q, NULL, 10);
      run(op, iters);
    } else if (!strcmp(line, "teardown")) {
      teardown();
    } else if (!strcmp(line, "quit")) {
      return 0;
    } else {
      die("unknown command '%s'", line);
    }
  }
  return 0;
}
