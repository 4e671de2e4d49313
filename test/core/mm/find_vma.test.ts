/**
 * find_vma() and its one-entry cache: the same VMA and the same hit/miss counts as the plain
 * test vm_start <= addr < vm_end, at every boundary and for addresses no syscall passes.
 */
import { describe, expect, it } from "vitest";
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ } from "../../../src/core/abi/mman.js";
import { Rng } from "../../../src/core/lib/rng.js";
import { Machine } from "../../../src/core/machine.js";
import { sys_mmap } from "../../../src/core/mm/mmap.js";
import type { mm_struct, vm_area_struct } from "../../../src/core/mm/types.js";
import { find_vma, vma_lookup } from "../../../src/core/mm/vma.js";
import { HOST_PROFILE, PG, W } from "../helpers.js";

/** find_vma as written before: the reference. */
function reference(
  mm: mm_struct,
  c: vm_area_struct | null,
  addr: number,
): [vm_area_struct | undefined, boolean] {
  if (c && c.vm_start <= addr && addr < c.vm_end) return [c, true];
  return [mm.mm_mt.find(addr), false];
}

describe("find_vma: the mmap_cache", () => {
  it("hits exactly when vm_start <= addr < vm_end: boundaries, halves, NaN, infinities, negative, huge", () => {
    const m = new Machine({ seed: 1, profile: HOST_PROFILE });
    const t = m.spawnEmpty();
    const mm = t.mm!;
    // One-page and larger VMAs with one-page holes, low and near the top of the address space.
    for (const [page, n] of [
      [1, 1],
      [3, 5],
      [10, 1],
    ] as const) {
      for (const base of [W, 2 ** 47 - 64 * PG]) {
        const r = sys_mmap(
          m,
          t,
          base + page * PG,
          n * PG,
          PROT_READ,
          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
          -1,
          0,
        );
        expect(r.ok).toBe(true);
      }
    }
    const vmas = [...mm.mm_mt];
    const probes: number[] = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1,
      0,
      2 ** 53,
      2 ** 64,
    ];
    for (const v of vmas) {
      for (const a of [v.vm_start, v.vm_end])
        for (const d of [-PG, -1, -0.5, 0, 0.5, 1, PG]) probes.push(a + d);
      probes.push((v.vm_start + v.vm_end) / 2);
    }
    const rng = new Rng("find_vma");
    for (let i = 0; i < 2000; i++) probes.push(probes[rng.below(probes.length)]!);
    for (const first of vmas) {
      // From each VMA in the cache, every probe.
      for (const a of probes) {
        mm.mmap_cache = first;
        const hits = mm.mmap_cache_hits;
        const [want, hit] = reference(mm, first, a);
        expect([a, find_vma(mm, a)]).toEqual([a, want]);
        expect([a, mm.mmap_cache_hits - hits]).toEqual([a, hit ? 1 : 0]);
        expect(mm.mmap_cache).toBe(want ?? first);
        const look = want && want.vm_start <= a ? want : undefined;
        mm.mmap_cache = first;
        expect(vma_lookup(mm, a)).toBe(look);
      }
    }
  });
});
