/**
 * The wire form of the core's facts: a real machine runs every catalogued call and the task
 * lifecycle, each fact is encoded, and every result must validate against the catalogue; the
 * catalogue and the core's syscall table must name the same calls; fault kinds fold as documented.
 */
import { describe, expect, it } from "vitest";
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MCL_CURRENT,
  MS_SYNC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
} from "../../src/core/abi/mman.js";
import type { CoreEvent } from "../../src/core/events.js";
import { sys_open } from "../../src/core/fs/open.js";
import { Machine } from "../../src/core/machine.js";
import { access_vm } from "../../src/core/mm/access.js";
import { do_syscall, SYSCALLS } from "../../src/core/syscalls.js";
import { do_execve } from "../../src/core/task/exec.js";
import { do_exit } from "../../src/core/task/exit.js";
import { CLONE_SIGHAND, CLONE_THREAD, CLONE_VM, do_fork } from "../../src/core/task/fork.js";
import { encodeFact, faultKind } from "../../src/events/encode.js";
import { EVENT_TYPES, Event, HexAddress, hex, SYSCALL_EVENTS } from "../../src/events/wire.js";
import { HexAddress as HttpHexAddress, hexAddr } from "../../src/http/schemas/common.js";

const PG = 4096;
const W = 0x100000000000;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

/** Run a bit of everything on a real machine and collect the facts. */
function workload(zeroPage: boolean): CoreEvent[] {
  const m = new Machine({ seed: 3, profile: { zeroPage, randomizeVaSpace: 0 } });
  const facts: CoreEvent[] = [];
  m.sink = (e) => facts.push(e);
  const t = m.spawnEmpty({ comm: "enc" });
  const sys = (call: string, args: Record<string, number>) => do_syscall(m, t, call, args);
  sys("mmap", { addr: W, length: 8 * PG, prot: PROT_READ | PROT_WRITE, flags: ANON });
  sys("mprotect", { addr: W + PG, length: PG, prot: PROT_READ });
  sys("mprotect", { addr: W + PG, length: PG, prot: PROT_READ | PROT_WRITE });
  sys("mremap", { old_address: W + 6 * PG, old_size: 2 * PG, new_size: 4 * PG, flags: 1 });
  sys("madvise", { addr: W, length: PG, advice: MADV_DONTNEED });
  sys("mlock", { addr: W, length: PG });
  sys("mlock2", { addr: W + PG, length: PG, flags: 0 });
  sys("munlock", { addr: W, length: 2 * PG });
  sys("mlockall", { flags: MCL_CURRENT });
  sys("munlockall", {});
  sys("msync", { addr: W, length: PG, flags: MS_SYNC });
  sys("mincore", { addr: W, length: PG });
  sys("brk", { addr: 0 });
  sys("munmap", { addr: W + 1, length: PG }); // EINVAL
  m.fs.create("/data", 16 * PG);
  const fd = sys_open(m, t, "/data", O_RDWR);
  if (!fd.ok) throw new Error("open");
  sys("mmap", {
    addr: W + 32 * PG,
    length: 16 * PG,
    prot: PROT_READ,
    flags: MAP_PRIVATE | MAP_FIXED,
    fd: fd.value,
  });
  sys("ftruncate", { fd: fd.value, length: 8 * PG });
  sys("close", { fd: fd.value });
  access_vm(m, t, W + 32 * PG, 1, "read"); // major (uncached file)
  access_vm(m, t, W + 32 * PG + 10 * PG, 1, "read"); // SIGBUS past EOF
  const A = W + 128 * PG; // untouched by mlockall's populate
  sys("mmap", { addr: A, length: 4 * PG, prot: PROT_READ | PROT_WRITE, flags: ANON });
  access_vm(m, t, A, 1, "read"); // zero page (or a new anonymous page)
  access_vm(m, t, A + PG, 1, "write"); // minor
  access_vm(m, t, W + 64 * PG, 1, "write"); // SIGSEGV
  const child = do_fork(m, t, 0);
  if (!child.ok) throw new Error("fork");
  access_vm(m, t, A + PG, 1, "write"); // cow (the page is shared with the child now)
  access_vm(m, child.value, A + PG, 1, "write"); // reuse (the child is its only user now)
  const thread = do_fork(m, t, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD);
  if (!thread.ok) throw new Error("clone");
  do_exit(m, thread.value, 0, 9);
  do_execve(m, child.value, {});
  do_exit(m, child.value, 4);
  return facts;
}

/**
 * Memory pressure on a 4 MiB machine: a dirty shared file mapping and anonymous memory twice RAM
 * (reclaim, writeback, swap-out, swap-in), then a task that runs out of RAM without swap (oom_kill).
 */
function pressureWorkload(): CoreEvent[] {
  const facts: CoreEvent[] = [];
  const m = new Machine({
    seed: 3,
    profile: { zeroPage: false, randomizeVaSpace: 0, ramBytes: 4 << 20, swapBytes: 16 << 20 },
  });
  m.sink = (e) => facts.push(e);
  const t = m.spawnEmpty({ comm: "swapper" });
  m.fs.create("/out", 64 * PG);
  const fd = sys_open(m, t, "/out", O_RDWR);
  if (!fd.ok) throw new Error("open");
  do_syscall(m, t, "mmap", {
    addr: W,
    length: 64 * PG,
    prot: 3,
    flags: MAP_SHARED | MAP_FIXED,
    fd: fd.value,
  });
  for (let i = 0; i < 64; i++) access_vm(m, t, W + i * PG, 1, "write", Uint8Array.of(7));
  do_syscall(m, t, "mmap", { addr: W + 1024 * PG, length: 2048 * PG, prot: 3, flags: ANON });
  for (let i = 0; i < 2048; i++) access_vm(m, t, W + (1024 + i) * PG, 1, "write", Uint8Array.of(i | 1));
  access_vm(m, t, W + 1024 * PG, 1, "read");
  const o = new Machine({
    seed: 3,
    profile: { zeroPage: false, ramBytes: 4 << 20, swapBytes: 0, overcommitMemory: 1 },
  });
  o.sink = (e) => facts.push(e);
  const h = o.spawnEmpty({ comm: "hog" });
  do_syscall(o, h, "mmap", { addr: W, length: 2048 * PG, prot: 3, flags: ANON });
  for (let i = 0; i < 2048 && h.state === "running"; i++)
    access_vm(o, h, W + i * PG, 1, "write", Uint8Array.of(1));
  return facts;
}

/** The event as a client parses it (the hub prepends seq, time and machine to the encoder's text). */
function wireOf(fact: CoreEvent, seq = 1): Record<string, unknown> & { type: string } {
  const enc = encodeFact(fact);
  if (!enc) throw new Error(`not catalogued: ${JSON.stringify(fact)}`);
  return JSON.parse(`{"seq":${seq},"time":"1970-01-01T00:00:00.000Z","machine":"m",${enc.tail}`);
}

describe("encodeFact", () => {
  it("every fact of a real workload validates against the catalogue, and every type occurs", () => {
    const seen = new Set<string>();
    for (const facts of [workload(false), workload(true), pressureWorkload()]) {
      let seq = 0;
      for (const fact of facts) {
        const wire = wireOf(fact, ++seq);
        const r = Event.safeParse(wire);
        expect(r.success, `${JSON.stringify(wire).slice(0, 300)}: ${r.error?.message}`).toBe(true);
        expect(wire.type).toBe(encodeFact(fact)!.type);
        seen.add(wire.type);
      }
    }
    expect([...EVENT_TYPES].filter((t) => !seen.has(t))).toEqual([]);
  });

  it("folds fault kinds: minor, major, cow, zero; null when nothing was mapped", () => {
    const kinds = new Set<string>();
    for (const zeroPage of [false, true])
      for (const f of workload(zeroPage)) {
        if (f.type !== "fault") continue;
        kinds.add(`${wireOf(f).kind}/${f.kind}/${f.result}`);
      }
    expect([...kinds].sort()).toEqual(
      [
        "major/file/ok",
        "major/cow/ok", // execve's image: copy-on-write of file pages not yet read
        "minor/anon/ok",
        "zero/zero/ok",
        "cow/cow/ok",
        "null/none/SIGBUS",
        "null/none/SIGSEGV",
        "minor/reuse/ok",
      ].sort(),
    );
    expect(faultKind("swapin", true, "ok")).toBe("swapin");
    expect(faultKind("cow", true, "ok")).toBe("major");
    expect(faultKind("shmem", false, "ok")).toBe("minor");
  });

  it("names the calls of the core's syscall table, and fills in the core's defaults", () => {
    expect(Object.keys(SYSCALL_EVENTS).sort()).toEqual(Object.keys(SYSCALLS).sort());
    const body = wireOf({
      type: "syscall",
      pid: 1,
      mm: 1,
      call: "mmap",
      args: { addr: W, length: PG, prot: 3, flags: 0x22 },
      ret: W,
      errno: null,
      before: [],
      after: [],
    });
    expect(body).toMatchObject({
      args: { addr: "0x100000000000", fd: -1, offset: 0 },
      ret: "0x100000000000",
    });
  });

  it("yields null for facts the catalogue does not have", () => {
    expect(encodeFact({ type: "compact_stall", pid: 1, mm: 1 } as unknown as CoreEvent)).toBeNull();
    expect(
      encodeFact({
        type: "syscall",
        call: "pkey_mprotect",
        pid: 1,
        mm: 1,
        args: {},
        ret: 0,
        errno: null,
        before: [],
        after: [],
      }),
    ).toBeNull();
  });

  it("refuses a broken fact (thrown, so the hub skips it) rather than write invalid JSON", () => {
    const fault = workload(false).find((f) => f.type === "fault")!;
    expect(() => encodeFact({ ...fault, pid: Number.NaN })).toThrow();
    expect(() => encodeFact({ ...fault, addr: undefined as unknown as number })).toThrow();
    expect(() => encodeFact({ ...fault, pages: Number.POSITIVE_INFINITY })).toThrow();
    const wire = wireOf({ type: "task_new", pid: 1, mm: 1, comm: 'we"ird\n\u2028' });
    expect(wire.comm).toBe('we"ird\n\u2028');
  });

  it("writes addresses exactly as the HTTP API does", () => {
    for (const x of [0, 1, 4096, W, 2 ** 47 - 4096, 2 ** 53 - 1, -1, -4096, -(2 ** 47)]) {
      expect(hex(x)).toBe(hexAddr(x));
      expect(HexAddress.safeParse(hex(x)).success).toBe(true);
      expect(HttpHexAddress.safeParse(hex(x)).success).toBe(true);
    }
    for (const bad of ["0X10", "0xAB", "10", "0x"]) {
      expect(HexAddress.safeParse(bad).success).toBe(HttpHexAddress.safeParse(bad).success);
    }
  });
});
