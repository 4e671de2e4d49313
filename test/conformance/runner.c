/*
 * mmsim conformance runner: executes a trace of address-space calls on the real kernel and prints
 * one result line per call, in the format the engine side prints (test/conformance/trace.ts).
 *
 * Trace lines (numbers are decimal or 0x hex; negative values are two's complement):
 *   file NAME SIZE [FILL STEP] create a regular file NAME (in the work dir) of SIZE bytes, written
 *                             (so every page is in the page cache) and fsync'ed (so they are clean);
 *                             every byte of page i is FILL + i * STEP (mod 256), zeros by default
 *   pread FD OFF LEN          pread(2) into a buffer: "= N HASH" (FNV-1a of the N bytes read)
 *   pwrite FD OFF LEN BYTE    pwrite(2) of BYTE+i (mod 256) at OFF+i: "= N"
 *   open NAME FLAGS           open(2) -> fd
 *   close FD | ftruncate FD LEN
 *   mmap ADDR LEN PROT FLAGS FD OFF | munmap ADDR LEN | mprotect ADDR LEN PROT
 *   mremap OLD OLDLEN NEWLEN FLAGS NEW | brk ADDR
 *   madvise ADDR LEN ADVICE | mlock ADDR LEN | mlock2 ADDR LEN FLAGS | munlock ADDR LEN
 *   mlockall FLAGS | munlockall | msync ADDR LEN FLAGS | mincore ADDR LEN
 *   read ADDR LEN             load every byte; prints "= ok HASH MINFLT MAJFLT", or on a signal
 *                             "= SIGNAME CODE 0xADDR HASH MINFLT MAJFLT" (HASH: FNV-1a of the bytes
 *                             read before it; fault counts are getrusage deltas)
 *   write ADDR LEN BYTE       store BYTE+i (mod 256) at ADDR+i; same result line
 *   exec ADDR                 call ADDR (an instruction fetch there); the trace only does this where
 *                             the byte is 0xc3 (ret), so a call that does not fault returns at once;
 *                             same result line, with the hash of no bytes
 *   fork                      the process forks; prints "= VPID" (the child's virtual pid: 2, 3, ...)
 *   exit                      the process exits (never vpid 1)
 *   maps                      print the VMAs intersecting the window, as /proc/self/maps does
 *   smaps                     print selected smaps fields of those VMAs
 *   probe                     print host facts the engine's kernel profile must match:
 *                             "zeropage 0|1" (a read of untouched anonymous memory maps the shared
 *                             zero page: smaps Rss stays 0) and "softdirty 0|1" (new VMAs show "sd")
 *   rlimit NAME DELTA         setrlimit(NAME) to the current use plus DELTA bytes (AS: VmSize,
 *                             DATA: VmData, MEMLOCK: VmLck), so traces do not depend on what libc
 *                             maps outside the window; DELTA -1 = unlimited
 *
 * A line may start with "VPID:" to address another process of the trace (default 1). Every process
 * is connected to vpid 1 by a pair of pipes made before the first fork; vpid 1 routes lines to the
 * others and copies their output back, so the output is one stream in trace order.
 *
 * Results: "= 0x<hex>" for address results, "= <n>" for others, "= -1 ENAME" on failure.
 * The window [WIN, WIN+WINLEN) must be free at start; nothing else in this process maps there,
 * and no malloc happens while a trace runs (all buffers are static).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WIN 0x100000000000UL
#define WINLEN (1UL << 30)

static char line[4096];
#define MAXP 8
static int cmd_pipe[MAXP + 1][2], res_pipe[MAXP + 1][2];
static int vpid = 1, nprocs = 1;
static struct rusage ru0, ru1;
#define GUARD (WIN - 0x10000)
static sigjmp_buf jb;
static volatile sig_atomic_t got_sig, got_code;
static volatile unsigned long got_addr;

static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  got_sig = sig;
  got_code = si->si_code;
  got_addr = (unsigned long)si->si_addr;
  siglongjmp(jb, 1);
}

static const char *code_name(int sig, int code) {
  if (code == 0x80) return "SI_KERNEL";
  if (sig == SIGSEGV) return code == 1 ? "SEGV_MAPERR" : code == 2 ? "SEGV_ACCERR" : code == 4 ? "SEGV_PKUERR" : "SEGV_?";
  return code == 2 ? "BUS_ADRERR" : code == 4 ? "BUS_MCEERR_AR" : "BUS_?";
}

/* The bytes are hashed as they are read: no buffer whose first use could itself fault. */
static void access_range(unsigned long addr, unsigned long len, int write, unsigned byte, int print) {
  volatile unsigned hash = 2166136261u;
  volatile unsigned long i = 0;
  got_sig = 0;
  /* Touch what the measured part writes (after a fork these pages are copy-on-write). */
  memset(&jb, 0, sizeof jb);
  getrusage(RUSAGE_SELF, &ru1);
  getrusage(RUSAGE_SELF, &ru0);
  if (sigsetjmp(jb, 1) == 0) {
    for (i = 0; i < len; i++) {
      volatile unsigned char *p = (volatile unsigned char *)(addr + i);
      if (write) *p = (unsigned char)(byte + i);
      else hash = (hash ^ *p) * 16777619u;
    }
  }
  getrusage(RUSAGE_SELF, &ru1);
  long mn = ru1.ru_minflt - ru0.ru_minflt, mj = ru1.ru_majflt - ru0.ru_majflt;
  if (!print) return;
  if (got_sig)
    printf("= %s %s 0x%lx %08x %ld %ld\n", got_sig == SIGSEGV ? "SIGSEGV" : "SIGBUS", code_name(got_sig, got_code),
           got_addr, hash, mn, mj);
  else printf("= ok %08x %ld %ld\n", hash, mn, mj);
}
static char buf[1 << 16];
static unsigned char iobuf[1 << 16];

/* An instruction fetch at addr: a call that returns through the ret found there, or faults. */
static void exec_at(unsigned long addr) {
  volatile unsigned hash = 2166136261u;
  got_sig = 0;
  memset(&jb, 0, sizeof jb);
  getrusage(RUSAGE_SELF, &ru1);
  getrusage(RUSAGE_SELF, &ru0);
  if (sigsetjmp(jb, 1) == 0) ((void (*)(void))addr)();
  getrusage(RUSAGE_SELF, &ru1);
  long mn = ru1.ru_minflt - ru0.ru_minflt, mj = ru1.ru_majflt - ru0.ru_majflt;
  if (got_sig)
    printf("= %s %s 0x%lx %08x %ld %ld\n", got_sig == SIGSEGV ? "SIGSEGV" : "SIGBUS", code_name(got_sig, got_code),
           got_addr, hash, mn, mj);
  else printf("= ok %08x %ld %ld\n", hash, mn, mj);
}
static unsigned char vec[1 << 16];
static char workdir[1024];

static long sys6(long nr, long a, long b, long c, long d, long e, long f) { return syscall(nr, a, b, c, d, e, f); }

static unsigned long num(const char *s) { return strtoul(s, NULL, 0) ; }
static long snum(const char *s) { return strtol(s, NULL, 0); }

static void result(long r, int is_addr) {
  if (r == -1) printf("= -1 %s\n", strerrorname_np(errno));
  else if (is_addr) printf("= 0x%lx\n", (unsigned long)r);
  else printf("= %ld\n", r);
}

static void print_maps(int smaps) {
  int fd = open(smaps ? "/proc/self/smaps" : "/proc/self/maps", O_RDONLY);
  if (fd < 0) { printf("! cannot open maps\n"); return; }
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0) break;
    n += (size_t)r;
    if (n >= sizeof buf - 1) break;
  }
  close(fd);
  buf[n] = 0;
  int inwin = 0;
  for (char *p = buf; *p;) {
    char *e = strchr(p, '\n');
    if (!e) break;
    *e = 0;
    unsigned long s, en;
    if (sscanf(p, "%lx-%lx", &s, &en) == 2 && strchr(p, '-') < strchr(p, ' ')) {
      inwin = en > WIN && s < WIN + WINLEN;
      if (inwin) printf("%s\n", p);
    } else if (inwin && smaps) {
      if (!strncmp(p, "Rss:", 4) || !strncmp(p, "Anonymous:", 10) || !strncmp(p, "Locked:", 7) ||
          !strncmp(p, "VmFlags:", 8) || !strncmp(p, "Private_Dirty:", 14) || !strncmp(p, "Shared_Clean:", 13) ||
          !strncmp(p, "Private_Clean:", 14) || !strncmp(p, "Shared_Dirty:", 13) || !strncmp(p, "LazyFree:", 9))
        printf("  %s\n", p);
    }
    p = e + 1;
  }
  printf(".\n");
}

static unsigned long status_kb(const char *key) {
  int fd = open("/proc/self/status", O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) n = 0;
  buf[n] = 0;
  char *p = strstr(buf, key);
  return p ? strtoul(p + strlen(key), NULL, 10) : 0;
}

/* One line into `line`: from stdin for vpid 1, else from the process's command pipe (no FILE, no
 * buffering across lines, no allocation). */
static int read_line(int fd) {
  if (fd < 0) return fgets(line, sizeof line, stdin) != NULL;
  size_t n = 0;
  while (n < sizeof line - 1) {
    char ch;
    ssize_t r = read(fd, &ch, 1);
    if (r <= 0) return n > 0;
    line[n++] = ch;
    if (ch == '\n') break;
  }
  line[n] = 0;
  return 1;
}

static void probe(void) {
  volatile char *p = mmap((void *)WIN, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != (void *)WIN) { printf("! probe mmap failed\n"); return; }
  (void)p[0];
  print_maps(1);
  /* CONFIG_MEMORY_FAILURE: MADV_HWPOISON with len 0 is 0 when the advice exists, else EINVAL. */
  errno = 0;
  printf("hwpoison %ld\n", syscall(SYS_madvise, WIN, 0, 100));
  munmap((void *)p, 4096);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: runner WORKDIR < trace\n"); return 2; }
  snprintf(workdir, sizeof workdir, "%s", argv[1]);
  if (chdir(workdir)) { perror("chdir"); return 2; }
  /* Static buffers only: stdio must not allocate (malloc could mmap) once the trace runs. */
  static char outbuf[1 << 20], inbuf[1 << 16];
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  setvbuf(stdin, inbuf, _IOFBF, sizeof inbuf);
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  /* The window must be free: a probe mapping with MAP_FIXED_NOREPLACE at each end proves it. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  /* Warm up the access path so its own first use faults nothing during a trace. */
  access_range((unsigned long)line, 64, 0, 0, 0);
  void *p = mmap((void *)WIN, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != (void *)WIN) { printf("! window busy\n"); return 3; }
  munmap(p, 4096);
  /* Deliver one signal now: the first signal frame may touch a new stack page, which must not be
   * counted in a traced access's fault delta. The PROT_NONE page below the window stays for the
   * same warm-up after each fork (the stack is copy-on-write then). */
  mmap((void *)GUARD, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  access_range(GUARD, 1, 0, 0, 0);
  /* Pipes live at high descriptors so that the trace's open() calls get 3, 4, ... as the engine's do. */
  for (int k = 2; k <= MAXP; k++) {
    if (pipe(cmd_pipe[k]) || pipe(res_pipe[k])) { printf("! pipe\n"); return 3; }
    for (int e = 0; e < 2; e++) {
      int *fds[2] = {&cmd_pipe[k][e], &res_pipe[k][e]};
      for (int q = 0; q < 2; q++) {
        int hi = fcntl(*fds[q], F_DUPFD, 200);
        close(*fds[q]);
        *fds[q] = hi;
      }
    }
  }
  signal(SIGCHLD, SIG_IGN); /* exited children are reaped by the kernel */
  /* The trace's processes form their own group; vpid 1 ends them all when the trace ends. */
  setpgid(0, 0);
  signal(SIGTERM, SIG_IGN);
  int in_fd = -1; /* -1: stdin through stdio (vpid 1); else a command pipe read byte by byte */
  for (;;) {
    if (!read_line(in_fd)) {
      if (vpid != 1) _exit(0);
      fflush(stdout);
      kill(0, SIGTERM);
      break;
    }
    char *body = line;
    int target = 1;
    char *colon = strchr(line, ':');
    if (colon && colon < line + 4 && colon > line) {
      target = atoi(line);
      body = colon + 1;
    }
    if (vpid == 1 && target != 1) {
      /* Route to another process and copy its output back, up to its end marker. */
      if (target < 2 || target > nprocs) { printf("! no process %d\n", target); fflush(stdout); continue; }
      /* The router numbers every new process, so a fork anywhere gets the next vpid. */
      char fwd[4200];
      char cmd0[16] = "";
      sscanf(body, "%15s", cmd0);
      if (!strcmp(cmd0, "fork")) snprintf(fwd, sizeof fwd, "fork %d\n", nprocs < MAXP ? ++nprocs : 0);
      else snprintf(fwd, sizeof fwd, "%s", body);
      size_t len = strlen(fwd);
      if (write(cmd_pipe[target][1], fwd, len) != (ssize_t)len) { printf("! route\n"); continue; }
      static char rbuf[1 << 16];
      static size_t have;
      have = 0;
      for (;;) {
        ssize_t r = read(res_pipe[target][0], rbuf + have, sizeof rbuf - have);
        if (r <= 0) break;
        have += (size_t)r;
        if (have >= 3 && !memcmp(rbuf + have - 3, "@@\n", 3)) { have -= 3; break; }
      }
      fwrite(rbuf, 1, have, stdout);
      fflush(stdout);
      continue;
    }
    char *a[8] = {0};
    int n = 0;
    for (char *t = strtok(body, " \t\n"); t && n < 8; t = strtok(NULL, " \t\n")) a[n++] = t;
    if (!n || a[0][0] == '#') { if (vpid != 1) { printf("@@\n"); fflush(stdout); } continue; }
    const char *c = a[0];
    errno = 0;
    if (!strcmp(c, "fork")) {
      int child = a[1] ? atoi(a[1]) : (nprocs < MAXP ? ++nprocs : 0);
      if (child < 2) { printf("! too many processes\n"); }
      else {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
          signal(SIGTERM, SIG_DFL);
          vpid = child;
          dup2(res_pipe[child][1], 1);
          in_fd = cmd_pipe[child][0];
          access_range(GUARD, 1, 0, 0, 0);
          continue;
        }
        if (pid < 0) printf("= -1 %s\n", strerrorname_np(errno));
        else {
          access_range(GUARD, 1, 0, 0, 0);
          printf("= %d\n", child);
        }
      }
      if (vpid != 1) printf("@@\n");
      fflush(stdout);
      continue;
    }
    if (!strcmp(c, "exit")) {
      if (vpid == 1) printf("! vpid 1 cannot exit\n");
      else {
        /* exit_mmap() runs after the reply would reach the router: unmap the window first, so the
         * other processes' next views do not race with this one's teardown. */
        munmap((void *)WIN, WINLEN);
        printf("= 0\n@@\n");
        fflush(stdout);
        _exit(0);
      }
      fflush(stdout);
      continue;
    }
    if (!strcmp(c, "file")) {
      int fd = open(a[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
      long left = snum(a[2]), r = fd < 0 ? -1 : 0;
      long fill = a[3] ? snum(a[3]) : 0, step = a[4] ? snum(a[4]) : 0;
      /* One page per write(): larger writes make ext4 create large folios, whose splitting
       * (e.g. by MADV_COLD) unmaps neighbouring pages; the engine models order-0 pages only. */
      for (long pg = 0; r == 0 && left > 0; pg++) {
        long chunk = left < 4096 ? left : 4096;
        memset(buf, (int)((fill + pg * step) & 0xff), 4096);
        if (write(fd, buf, chunk) != chunk) r = -1;
        left -= chunk;
      }
      if (r == 0) r = fsync(fd);
      if (fd >= 0) close(fd);
      result(r, 0);
    } else if (!strcmp(c, "open")) result(open(a[1], (int)snum(a[2]), 0644), 0);
    else if (!strcmp(c, "close")) result(close((int)snum(a[1])), 0);
    else if (!strcmp(c, "ftruncate")) result(ftruncate((int)snum(a[1]), snum(a[2])), 0);
    else if (!strcmp(c, "mmap")) result(sys6(SYS_mmap, num(a[1]), num(a[2]), num(a[3]), num(a[4]), snum(a[5]), num(a[6])), 1);
    else if (!strcmp(c, "munmap")) result(syscall(SYS_munmap, num(a[1]), num(a[2])), 0);
    else if (!strcmp(c, "mprotect")) result(syscall(SYS_mprotect, num(a[1]), num(a[2]), num(a[3])), 0);
    else if (!strcmp(c, "mremap")) result(sys6(SYS_mremap, num(a[1]), num(a[2]), num(a[3]), num(a[4]), num(a[5]), 0), 1);
    else if (!strcmp(c, "brk")) result(syscall(SYS_brk, num(a[1])), 1);
    else if (!strcmp(c, "madvise")) result(syscall(SYS_madvise, num(a[1]), num(a[2]), snum(a[3])), 0);
    else if (!strcmp(c, "mlock")) result(syscall(SYS_mlock, num(a[1]), num(a[2])), 0);
    else if (!strcmp(c, "mlock2")) result(syscall(SYS_mlock2, num(a[1]), num(a[2]), num(a[3])), 0);
    else if (!strcmp(c, "munlock")) result(syscall(SYS_munlock, num(a[1]), num(a[2])), 0);
    else if (!strcmp(c, "mlockall")) result(syscall(SYS_mlockall, snum(a[1])), 0);
    else if (!strcmp(c, "munlockall")) result(syscall(SYS_munlockall), 0);
    else if (!strcmp(c, "msync")) result(syscall(SYS_msync, num(a[1]), num(a[2]), snum(a[3])), 0);
    else if (!strcmp(c, "mincore")) {
      /* The kernel writes only entries up to the first hole, so the buffer bounds what is printed. */
      unsigned long len = num(a[2]);
      unsigned long pages = len / 4096 + (len % 4096 != 0);
      memset(vec, 0xff, sizeof vec);
      long r = syscall(SYS_mincore, num(a[1]), len, vec);
      int e = errno;
      if (r == -1) printf("= -1 %s", strerrorname_np(e));
      else printf("= %ld", r);
      printf(" ");
      for (unsigned long i = 0; i < pages && i < sizeof vec; i++) {
        if (vec[i] == 0xff) break; /* not written by the kernel */
        putchar('0' + (vec[i] & 1));
      }
      printf("\n");
    } else if (!strcmp(c, "pread")) {
      long n = pread((int)snum(a[1]), iobuf, num(a[3]) < sizeof iobuf ? num(a[3]) : sizeof iobuf, snum(a[2]));
      if (n < 0) printf("= -1 %s\n", strerrorname_np(errno));
      else {
        unsigned hash = 2166136261u;
        for (long i = 0; i < n; i++) hash = (hash ^ iobuf[i]) * 16777619u;
        printf("= %ld %08x\n", n, hash);
      }
    } else if (!strcmp(c, "pwrite")) {
      unsigned long len = num(a[3]) < sizeof iobuf ? num(a[3]) : sizeof iobuf;
      for (unsigned long i = 0; i < len; i++) iobuf[i] = (unsigned char)(num(a[4]) + i);
      result(pwrite((int)snum(a[1]), iobuf, len, snum(a[2])), 0);
    } else if (!strcmp(c, "exec")) exec_at(num(a[1]));
    else if (!strcmp(c, "read")) access_range(num(a[1]), num(a[2]), 0, 0, 1);
    else if (!strcmp(c, "write")) access_range(num(a[1]), num(a[2]), 1, (unsigned)num(a[3]), 1);
    else if (!strcmp(c, "maps")) print_maps(0);
    else if (!strcmp(c, "smaps")) print_maps(1);
    else if (!strcmp(c, "probe")) probe();
    else if (!strcmp(c, "rlimit")) {
      int res = !strcmp(a[1], "AS") ? RLIMIT_AS : !strcmp(a[1], "DATA") ? RLIMIT_DATA : RLIMIT_MEMLOCK;
      const char *key = res == RLIMIT_AS ? "VmSize:" : res == RLIMIT_DATA ? "VmData:" : "VmLck:";
      struct rlimit rl;
      getrlimit(res, &rl);
      rl.rlim_cur = snum(a[2]) < 0 ? RLIM_INFINITY : status_kb(key) * 1024 + num(a[2]);
      if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max) rl.rlim_cur = rl.rlim_max;
      result(setrlimit(res, &rl), 0);
    } else printf("! unknown call %s\n", c);
    if (vpid != 1) printf("@@\n");
    fflush(stdout);
  }
  return 0;
}
