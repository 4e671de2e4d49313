/**
 * /proc/PID/status: the whole file, against what this kernel prints for the same task states.
 *
 * golden/status_golden.c prints the status of a forked child (plain), one with fd 70 open and a
 * fork of it after closing it, one with a second thread, one with THP disabled, a zombie and a
 * parent blocked in vfork. The engine builds the same tasks and must print the same lines in the
 * same order; values must match for every line the model decides (state, umask, FDSize, threads,
 * THP, signal and seccomp state, ambient and inheritable capabilities, placement). Lines whose
 * values come from the host and not from the process are compared by key only, each for a reason
 * given in HOST_VALUES. Two sources, as for the procfs golden tests: the committed capture
 * (golden/status_golden.out.txt, Linux 6.18 x86_64) and a live one where cc is available;
 * regenerate the committed one with STATUS_GOLDEN_UPDATE=1 npx vitest run test/core/task/status.test.ts
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { O_RDONLY } from "../../../src/core/abi/mman.js";
import { sys_close, sys_open } from "../../../src/core/fs/open.js";
import { Machine } from "../../../src/core/machine.js";
import { validate_machine } from "../../../src/core/mm/validate.js";
import { do_execve } from "../../../src/core/task/exec.js";
import { do_exit } from "../../../src/core/task/exit.js";
import {
  CLONE_FILES,
  CLONE_FS,
  CLONE_SIGHAND,
  CLONE_THREAD,
  CLONE_VFORK,
  CLONE_VM,
  do_fork,
} from "../../../src/core/task/fork.js";
import { show_status } from "../../../src/core/task/status.js";
import type { task_struct } from "../../../src/core/task/task.js";
import { CAN_CAPTURE, CAPTURE_NOTE, runC } from "../golden_c.js";
import { HOST_PROFILE } from "../helpers.js";

const GOLDEN = fileURLToPath(new URL("./golden/", import.meta.url));
const C_SOURCE = join(GOLDEN, "status_golden.c");
const FIXTURE = join(GOLDEN, "status_golden.out.txt");
const SECTIONS = ["plain", "fd70", "fd70child", "thread", "thp", "zombie", "vfork"] as const;
type Section = (typeof SECTIONS)[number];

/** Lines compared by key only: their values describe the host or its numbering, not the task. */
const HOST_VALUES: Record<string, string> = {
  Tgid: "host pid numbers (the engine's are checked against its own tasks below)",
  Pid: "host pid numbers",
  PPid: "host pid numbers",
  NStgid: "host pid numbers",
  NSpid: "host pid numbers",
  NSpgid: "the host's process group",
  NSsid: "the host's session",
  Uid: "the test runs as whoever runs it; the engine's tasks are one unprivileged user",
  Gid: "as Uid",
  SigQ: "RLIMIT_SIGPENDING follows the host's RAM at boot",
  CapPrm: "the runner's capabilities; the engine's are the task's caps",
  CapEff: "as CapPrm",
  CapBnd: "containers narrow the bounding set; the engine's is the full set",
  Speculation_Store_Bypass: "depends on the CPU and its mitigations",
  SpeculationIndirectBranch: "depends on the CPU and its mitigations",
  Cpus_allowed: "the host's CPUs; the engine's machine has one",
  Cpus_allowed_list: "as Cpus_allowed",
  voluntary_ctxt_switches: "scheduling is not modelled",
  nonvoluntary_ctxt_switches: "scheduling is not modelled",
};
/** The memory lines: their values are checked by the procfs golden tests (test/core/mm). */
const MEMORY = /^(Vm|Rss|HugetlbPages)/;

function parse(text: string): Map<Section, string> {
  if (!text.includes("#end\n")) throw new Error("truncated capture (no #end)");
  const out = new Map<Section, string>();
  let cur: Section | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) {
      const name = line.slice(1);
      cur = (SECTIONS as readonly string[]).includes(name) ? (name as Section) : null;
      if (cur) out.set(cur, "");
      continue;
    }
    if (cur) out.set(cur, `${out.get(cur)}${line}\n`);
  }
  for (const s of SECTIONS) if (!out.has(s)) throw new Error(`capture has no #${s}`);
  return out;
}

function lines(text: string): [string, string][] {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const i = l.indexOf(":\t");
      if (i < 0) throw new Error(`not a status line: ${JSON.stringify(l)}`);
      return [l.slice(0, i), l.slice(i + 2)];
    });
}

/** The engine's tasks for each section, built by the same calls as status_golden.c. */
function engine(name: string): Map<Section, { m: Machine; t: task_struct }> {
  const out = new Map<Section, { m: Machine; t: task_struct }>();
  const machine = (thpDisabled = false) => {
    const m = new Machine({ seed: 1, profile: HOST_PROFILE });
    return { m, main: m.spawnEmpty({ comm: name, thpDisabled }) };
  };
  const fork = (m: Machine, t: task_struct, flags = 0) => {
    const r = do_fork(m, t, flags);
    if (!r.ok) throw new Error(`fork: errno ${r.errno}`);
    return r.value;
  };
  {
    const { m, main } = machine();
    out.set("plain", { m, t: fork(m, main) });
  }
  {
    const { m, main } = machine();
    m.fs.create("/f", 0);
    const c = fork(m, main);
    // fds 3..70 opened, all but 70 closed again: fd 70 is the only one above stdio, as dup2(1, 70).
    for (let fd = 3; fd <= 70; fd++) expect(sys_open(m, c, "/f", O_RDONLY)).toEqual({ ok: true, value: fd });
    for (let fd = 3; fd < 70; fd++) sys_close(c, fd);
    out.set("fd70", { m, t: c });
    // Closing fd 70 leaves c's table at 128 slots (it never shrinks): its status is unchanged.
    sys_close(c, 70);
    out.set("fd70child", { m, t: fork(m, c) });
  }
  {
    const { m, main } = machine();
    const c = fork(m, main);
    fork(m, c, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_FS | CLONE_FILES);
    out.set("thread", { m, t: c });
  }
  {
    const { m, main } = machine(true);
    out.set("thp", { m, t: fork(m, main) });
  }
  {
    const { m, main } = machine();
    const c = fork(m, main);
    do_exit(m, c, 3);
    out.set("zombie", { m, t: c });
  }
  {
    const { m, main } = machine();
    const c = fork(m, main);
    fork(m, c, CLONE_VM | CLONE_VFORK);
    out.set("vfork", { m, t: c });
  }
  for (const { m } of out.values()) validate_machine(m);
  return out;
}

function goldenSuite(load: () => Map<Section, string>): void {
  let cap: Map<Section, string> = new Map();
  let eng: Map<Section, { m: Machine; t: task_struct }> = new Map();
  it("loads the capture and builds the engine's tasks", () => {
    cap = load();
    const name = lines(cap.get("plain")!).find(([k]) => k === "Name")![1];
    eng = engine(name);
  });
  for (const s of SECTIONS) {
    it(`${s}: the same lines in the same order, the same values where the task decides them`, () => {
      const kernel = lines(cap.get(s)!);
      const { m, t } = eng.get(s)!;
      const ours = lines(show_status(m, t));
      expect(ours.map(([k]) => k)).toEqual(kernel.map(([k]) => k));
      const decided = (l: [string, string][]) =>
        l.filter(([k]) => !(k in HOST_VALUES) && !MEMORY.test(k)).map(([k, v]) => `${k}:\t${v}`);
      expect(decided(ours)).toEqual(decided(kernel));
    });
  }
}

describe("/proc/PID/status golden: captured on Linux 6.18 x86_64 (golden/status_golden.out.txt)", () => {
  goldenSuite(() => parse(readFileSync(FIXTURE, "utf8")));
});

describe.skipIf(!CAN_CAPTURE)(
  `/proc/PID/status golden: live capture from this machine's kernel${CAPTURE_NOTE}`,
  () => {
    let dir = "";
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    goldenSuite(() => {
      dir = mkdtempSync(join(tmpdir(), "mmsim-status-"));
      const stdout = runC(dir, C_SOURCE, "status_golden");
      if (process.env["STATUS_GOLDEN_UPDATE"]) writeFileSync(FIXTURE, stdout);
      return parse(stdout);
    });
  },
);

// ---------------------------------------------------------------------------------------------
// What the engine decides that the host comparison leaves out

describe("/proc/PID/status: the engine's own values", () => {
  const value = (m: Machine, t: task_struct, key: string) =>
    lines(show_status(m, t)).find(([k]) => k === key)?.[1];

  it("pids, parent, process group and session: a spawned task leads its own, fork inherits them", () => {
    const m = new Machine({ seed: 1, profile: HOST_PROFILE });
    const a = m.spawnEmpty({ comm: "a" });
    const b = m.spawnEmpty({ comm: "b" });
    const c = do_fork(m, b, 0);
    if (!c.ok) throw new Error("fork");
    const th = do_fork(m, c.value, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND);
    if (!th.ok) throw new Error("clone");
    const ids = (t: task_struct) =>
      ["Tgid", "Pid", "PPid", "NStgid", "NSpid", "NSpgid", "NSsid"].map((k) => value(m, t, k));
    expect(ids(a)).toEqual(["1", "1", "0", "1", "1", "1", "1"]);
    expect(ids(b)).toEqual(["2", "2", "0", "2", "2", "2", "2"]);
    expect(ids(c.value)).toEqual(["3", "3", "2", "3", "3", "2", "2"]);
    // A thread: its own pid, its group's tgid, the group's parent.
    expect(ids(th.value)).toEqual(["3", "4", "2", "3", "4", "2", "2"]);
    expect(value(m, c.value, "Threads")).toBe("2");
    expect(value(m, b, "Threads")).toBe("1");
  });

  it("capabilities: the task's caps in CapPrm and CapEff, the full bounding set, none inheritable or ambient", () => {
    const m = new Machine({ seed: 1, profile: HOST_PROFILE });
    const none = m.spawnEmpty();
    const lock = m.spawnEmpty({ caps: { CAP_IPC_LOCK: true } });
    const all = m.spawnEmpty({ caps: { CAP_IPC_LOCK: true, CAP_SYS_RAWIO: true, CAP_SYS_ADMIN: true } });
    expect(value(m, none, "CapEff")).toBe("0000000000000000");
    expect(value(m, lock, "CapEff")).toBe("0000000000004000");
    expect(value(m, lock, "CapPrm")).toBe("0000000000004000");
    expect(value(m, all, "CapEff")).toBe("0000000000224000");
    for (const t of [none, lock, all]) {
      expect(value(m, t, "CapBnd")).toBe("000001ffffffffff");
      expect(value(m, t, "CapInh")).toBe("0000000000000000");
      expect(value(m, t, "CapAmb")).toBe("0000000000000000");
      expect(value(m, t, "Uid")).toBe("1000\t1000\t1000\t1000");
    }
  });

  it("SigQ's limit is RLIMIT_SIGPENDING as the kernel sizes it from RAM (max_threads / 2)", () => {
    for (const [ram, limit] of [
      [8 * 2 ** 30, 32768], // 8 GiB / (8 x 16 KiB) = 65 536 threads
      [64 * 2 ** 20, 256],
      [2 ** 20, 10], // the floor of 20 threads
    ] as const) {
      const m = new Machine({ seed: 1, profile: { ...HOST_PROFILE, ramBytes: ram, swapBytes: 0 } });
      expect(value(m, m.spawnEmpty(), "SigQ")).toBe(`0/${limit}`);
    }
  });

  it("Name: at most 15 bytes of UTF-8; after execve, the executed file's basename, not argv[0]", () => {
    const m = new Machine({ seed: 1, profile: HOST_PROFILE });
    const t = m.spawnEmpty({ comm: "\u00e9".repeat(9) }); // 18 bytes: 7 characters fit
    expect(value(m, t, "Name")).toBe("\u00e9".repeat(7));
    expect(do_execve(m, t, { argv: ["argv0name"] }).ok).toBe(true);
    expect(value(m, t, "Name")).toBe("prog");
  });

  it("Name escapes backslashes and newlines; the memory lines are task_mem's", () => {
    const m = new Machine({ seed: 1, profile: HOST_PROFILE });
    const t = m.spawnEmpty({ comm: "a\\b\nc" });
    const text = show_status(m, t);
    expect(text.startsWith("Name:\ta\\\\b\\nc\nUmask:\t0022\nState:\tR (running)\n")).toBe(true);
    expect(text).toContain("VmSize:\t       0 kB\n");
  });
});
