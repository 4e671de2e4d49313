/**
 * Overcommit with finite RAM and swap, at the boundaries this machine's kernel showed (a C program
 * binary-searching the largest private writable mapping, vm.overcommit_memory set to 2 for the
 * run and restored): mode 0 refuses one request larger than RAM + swap; mode 2 admits a request
 * while Committed_AS stays below CommitLimit (RAM * ratio + swap) less admin_reserve_kbytes for
 * tasks without CAP_SYS_ADMIN and less min(total_vm / 32, user_reserve_kbytes); mode 1 admits
 * anything. Committed_AS is the VM_ACCOUNT charges, given back on munmap.
 */
import { describe, expect, it } from "vitest";
import { ENOMEM } from "../../../src/core/abi/errno.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../../../src/core/abi/mman.js";
import { Machine } from "../../../src/core/machine.js";
import { meminfo_values } from "../../../src/core/mem/meminfo.js";
import { sys_mmap, sys_munmap } from "../../../src/core/mm/mmap.js";
import { validate_machine } from "../../../src/core/mm/validate.js";
import type { KernelProfile } from "../../../src/core/profile.js";
import type { Capabilities } from "../../../src/core/task/task.js";
import { HOST_PROFILE, PG } from "../helpers.js";

const MiB = 2 ** 20;

function setup(profile: Partial<KernelProfile>, caps: Partial<Capabilities> = {}) {
  const m = new Machine({
    seed: 1,
    profile: { ...HOST_PROFILE, ramBytes: 64 * MiB, swapBytes: 32 * MiB, ...profile },
  });
  const t = m.spawnEmpty({ caps });
  const map = (pages: number) =>
    sys_mmap(m, t, 0, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const info = () => Object.fromEntries(meminfo_values(m)) as { [k: string]: number };
  return { m, t, map, info };
}

describe("overcommit with RAM and swap", () => {
  it("mode 0: one request of RAM + swap pages is admitted, one page more is not", () => {
    const { m, map } = setup({ overcommitMemory: 0 });
    expect(map(16384 + 8192).ok).toBe(true);
    const r = map(16384 + 8192 + 1);
    expect(r.ok ? 0 : r.errno).toBe(ENOMEM);
    validate_machine(m);
  });

  it("mode 2: CommitLimit is RAM * overcommit_ratio + swap; reserves come off it", () => {
    const { m, t, map, info } = setup({ overcommitMemory: 2, overcommitRatio: 50 });
    expect(info().CommitLimit).toBe((8192 + 8192) * 4);
    // Without CAP_SYS_ADMIN: 16384 - admin_reserve (8192 kB = 2048 pages), total_vm 0: 14335 pages.
    const no = map(14336);
    expect(no.ok ? 0 : no.errno).toBe(ENOMEM);
    const yes = map(14335);
    expect(yes.ok).toBe(true);
    expect(info().Committed_AS).toBe(14335 * 4);
    if (yes.ok) expect(sys_munmap(m, t, yes.value, 14335 * PG).ok).toBe(true);
    expect(info().Committed_AS).toBe(0);
    // The user reserve: min(total_vm / 32, user_reserve_kbytes) with total_vm now 3200 pages.
    expect(sys_mmap(m, t, 0, 3200 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0).ok).toBe(true);
    const over = map(14335 - 100 + 1);
    expect(over.ok ? 0 : over.errno).toBe(ENOMEM);
    expect(map(14335 - 100).ok).toBe(true);
    validate_machine(m);
  });

  it("mode 2 with CAP_SYS_ADMIN: no admin reserve", () => {
    const { map } = setup({ overcommitMemory: 2, overcommitRatio: 50 }, { CAP_SYS_ADMIN: true });
    expect(map(16384).ok).toBe(false);
    expect(map(16383).ok).toBe(true);
  });

  it("mode 1: anything is admitted, and it is charged all the same", () => {
    const { map, info } = setup({ overcommitMemory: 1 });
    expect(map(10 * 16384).ok).toBe(true);
    expect(info().Committed_AS).toBe(10 * 16384 * 4);
  });
});
