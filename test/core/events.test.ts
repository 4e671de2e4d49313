/**
 * The core reports committed changes as plain data: calls with their VMAs before and after,
 * splits and merges, faults (with kind and result), and task lifecycle steps.
 */
import { describe, expect, it } from "vitest";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../../src/core/abi/mman.js";
import type { CoreEvent } from "../../src/core/events.js";
import { Machine } from "../../src/core/machine.js";
import { access_vm } from "../../src/core/mm/access.js";
import { do_syscall } from "../../src/core/syscalls.js";
import { do_exit } from "../../src/core/task/exit.js";
import { do_fork } from "../../src/core/task/fork.js";
import { HOST_PROFILE, PG, W } from "./helpers.js";

function setup() {
  const m = new Machine({ seed: 1, profile: HOST_PROFILE });
  const events: CoreEvent[] = [];
  m.sink = (e) => events.push(e);
  const t = m.spawnEmpty({ comm: "ev" });
  return { m, t, events };
}

describe("events", () => {
  it("a call reports its arguments, result and the VMAs before and after; splits and merges too", () => {
    const { m, t, events } = setup();
    do_syscall(m, t, "mmap", {
      addr: W,
      length: 4 * PG,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    });
    do_syscall(m, t, "mprotect", { addr: W + PG, length: PG, prot: PROT_READ });
    const types = events.map((e) => e.type);
    expect(types).toEqual(["task_new", "syscall", "vma_split", "vma_split", "syscall"]);
    const mp = events[4]!;
    if (mp.type !== "syscall") throw new Error();
    expect(mp.call).toBe("mprotect");
    expect(mp.ret).toBe(0);
    expect(mp.before.map((v) => [v.start - W, v.end - W])).toEqual([[0, 4 * PG]]);
    expect(mp.after.map((v) => [v.start - W, v.end - W])).toEqual([
      [0, PG],
      [PG, 2 * PG],
      [2 * PG, 4 * PG],
    ]);
    events.length = 0;
    do_syscall(m, t, "mprotect", { addr: W + PG, length: PG, prot: PROT_READ | PROT_WRITE });
    expect(events.map((e) => e.type)).toEqual(["vma_merge", "syscall"]);
    events.length = 0;
    const bad = do_syscall(m, t, "munmap", { addr: W + 1, length: PG });
    expect(bad.ok).toBe(false);
    expect(events[0]).toMatchObject({ type: "syscall", call: "munmap", ret: -1, errno: "EINVAL" });
  });

  it("faults report kind and result; signals too", () => {
    const { m, t, events } = setup();
    do_syscall(m, t, "mmap", {
      addr: W,
      length: PG,
      prot: PROT_READ,
      flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    });
    events.length = 0;
    access_vm(m, t, W, 1, "read");
    access_vm(m, t, W, 1, "write");
    access_vm(m, t, W + 8 * PG, 1, "read");
    expect(events.map((e) => (e.type === "fault" ? [e.kind, e.result, e.code] : e.type))).toEqual([
      ["anon", "ok", null],
      ["none", "SIGSEGV", "SEGV_ACCERR"],
      ["none", "SIGSEGV", "SEGV_MAPERR"],
    ]);
  });

  it("fork and exit are reported with mm_users changes", () => {
    const { m, t, events } = setup();
    const c = do_fork(m, t, 0);
    if (!c.ok) throw new Error();
    do_exit(m, c.value, 7);
    expect(events.map((e) => e.type)).toEqual(["task_new", "fork", "mm_release", "exit"]);
    expect(events[3]).toMatchObject({ type: "exit", pid: c.value.pid, status: 7 });
  });
});
