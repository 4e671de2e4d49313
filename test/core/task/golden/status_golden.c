/*
 * Prints /proc/PID/status as this kernel shows it for the task states mmsim models, for
 * test/core/task/status.test.ts. Each section is "#NAME" then the file's text; "#end" closes.
 *   plain   a forked child, its own status (running, one thread, fds below 64)
 *   fd70    a child that opened fd 70 (the fd table grows to 128 slots)
 *   fd70child  a fork of that child after it closed fd 70 (dup_fd sizes the copy by open fds)
 *   thread  a child with a second thread (clone CLONE_VM|CLONE_THREAD|CLONE_SIGHAND, no glibc
 *           signal handlers)
 *   thp     a child after prctl(PR_SET_THP_DISABLE)
 *   zombie  a child that has exited and not been reaped, read by its parent
 *   vfork   a child blocked in vfork (its own child sleeps), read by its parent
 * Only the process's own state is printed; numbers that depend on the host (pids, memory) are
 * normalised by the test.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void dump(const char *section, pid_t pid) {
  char path[64], buf[8192];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) { perror(path); exit(1); }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  printf("#%s\n%s", section, buf);
  fflush(stdout);
}

static int idle(void *arg) {
  (void)arg;
  for (;;) pause();
  return 0;
}

/* Runs body in a forked child that prints its own status; waits for it. */
static void in_child(void (*body)(void)) {
  fflush(stdout);
  pid_t c = fork();
  if (c < 0) { perror("fork"); exit(1); }
  if (c == 0) { body(); _exit(0); }
  int st;
  waitpid(c, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "child failed\n"); exit(1); }
}

static void plain(void) { dump("plain", getpid()); }

static void fd70child(void) { dump("fd70child", getpid()); }

static void fd70(void) {
  if (dup2(1, 70) != 70) { perror("dup2"); _exit(1); }
  dump("fd70", getpid());
  close(70);
  in_child(fd70child);
}

static void thread(void) {
  size_t sz = 64 * 1024;
  char *stack = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack == MAP_FAILED) { perror("mmap"); _exit(1); }
  if (clone(idle, stack + sz, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_FS | CLONE_FILES, NULL) < 0) {
    perror("clone");
    _exit(1);
  }
  usleep(50000);
  dump("thread", getpid());
  _exit(0); /* exit_group: the thread goes too */
}

static void thp(void) {
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) { perror("prctl"); _exit(1); }
  dump("thp", getpid());
}

int main(void) {
  /* Whatever the caller left open would size the children's fd tables (dup_fd copies up to the
     highest open fd): start from stdio alone. */
  for (int fd = 3; fd < 1024; fd++) close(fd);
  in_child(plain);
  in_child(fd70);
  in_child(thread);
  in_child(thp);

  fflush(stdout);
  pid_t z = fork();
  if (z == 0) _exit(3);
  siginfo_t si;
  if (waitid(P_PID, z, &si, WEXITED | WNOWAIT)) { perror("waitid"); return 1; }
  dump("zombie", z);
  waitpid(z, NULL, 0);

  pid_t v = fork();
  if (v == 0) {
    pid_t g = vfork();
    if (g == 0) { usleep(300000); _exit(0); }
    _exit(0);
  }
  usleep(100000);
  dump("vfork", v);
  waitpid(v, NULL, 0);
  printf("#end\n");
  return 0;
}
