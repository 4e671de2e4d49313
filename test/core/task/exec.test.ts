/**
 * execve's layout against what the kernel shows for a dynamically linked PIE with ASLR off
 * (setarch -R): PIE at ELF_ET_DYN_BASE, ld.so ending at mmap_base with [vvar][vvar_vclock][vdso]
 * below it, a 132 KiB [stack] ending at TASK_SIZE, the heap right after the bss.
 */
import { describe, expect, it } from "vitest";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../../../src/core/abi/mman.js";
import { Machine } from "../../../src/core/machine.js";
import { sys_brk } from "../../../src/core/mm/brk.js";
import { sys_mlockall } from "../../../src/core/mm/mlock.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import { show_maps } from "../../../src/core/mm/procfs.js";
import { validate_machine } from "../../../src/core/mm/validate.js";
import { do_execve } from "../../../src/core/task/exec.js";
import { CLONE_VFORK, CLONE_VM, do_fork } from "../../../src/core/task/fork.js";
import { HOST_PROFILE } from "../helpers.js";

function names(m: Machine, mm: Parameters<typeof show_maps>[1]): string[] {
  return show_maps(m, mm, { vsyscall: false })
    .trim()
    .split("\n")
    .map((l) => {
      const [range, perms] = l.split(" ");
      return `${range} ${perms} ${l.slice(73)}`.trim();
    });
}

describe("execve layout", () => {
  it("ASLR off: the default PIE image", () => {
    const m = new Machine({ seed: 1, profile: HOST_PROFILE });
    const t = m.spawnEmpty();
    expect(do_execve(m, t, { argv: ["prog"] }).ok).toBe(true);
    const mm = t.mm!;
    expect(names(m, mm)).toEqual([
      "555555554000-555555556000 r--p /usr/bin/prog",
      "555555556000-55555555b000 r-xp /usr/bin/prog",
      "55555555b000-55555555d000 r--p /usr/bin/prog",
      "55555555d000-55555555f000 rw-p /usr/bin/prog",
      "7ffff7fc3000-7ffff7fc7000 r--p [vvar]",
      "7ffff7fc7000-7ffff7fc9000 r--p [vvar_vclock]",
      "7ffff7fc9000-7ffff7fcb000 r-xp [vdso]",
      "7ffff7fcb000-7ffff7fcc000 r--p /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "7ffff7fcc000-7ffff7ff2000 r-xp /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "7ffff7ff2000-7ffff7ffc000 r--p /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "7ffff7ffc000-7ffff7fff000 rw-p /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "7ffffffde000-7ffffffff000 rw-p [stack]",
    ]);
    expect(mm.mmap_base).toBe(0x7ffff7fff000);
    expect(mm.start_brk).toBe(0x55555555f000);
    expect(mm.stack_vm).toBe(0x21);
    validate_machine(m);
    // The heap starts right after the bss and is named once brk moves.
    expect(sys_brk(m, t, mm.start_brk + 0x1000).ok).toBe(true);
    expect(names(m, mm)).toContain("55555555f000-555555560000 rw-p [heap]");
  });

  it("ASLR on: everything moves, deterministically per seed", () => {
    const run = (seed: number) => {
      const m = new Machine({ seed, profile: { ...HOST_PROFILE, randomizeVaSpace: 2 } });
      const t = m.spawnEmpty();
      do_execve(m, t, {});
      return names(m, t.mm!);
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
    expect(run(5)[0]).not.toMatch(/^555555554000/);
  });

  it("exec drops the old mm, mlockall(MCL_FUTURE) and releases a vfork parent", () => {
    const m = new Machine({ seed: 1, profile: HOST_PROFILE });
    const p = m.spawnEmpty({ caps: { CAP_IPC_LOCK: true } });
    do_execve(m, p, {});
    sys_mlockall(m, p, 2);
    sys_mmap(m, p, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const c = do_fork(m, p, CLONE_VM | CLONE_VFORK);
    if (!c.ok) throw new Error("vfork");
    expect(p.state).toBe("vfork-waiting");
    do_execve(m, c.value, { argv: ["child"] });
    expect(p.state).toBe("running");
    expect(c.value.mm).not.toBe(p.mm);
    expect(c.value.mm!.def_flags).toBe(0);
    expect(c.value.comm).toBe("prog");
    expect(p.mm!.mm_users).toBe(1);
    validate_machine(m);
  });

  it("the empty image leaves no VMAs", () => {
    const m = new Machine({ seed: 1, profile: HOST_PROFILE });
    const t = m.spawnEmpty();
    do_execve(m, t, { image: "empty" });
    expect(t.mm!.map_count).toBe(0);
  });
});
