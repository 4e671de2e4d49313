/**
 * The sysctls a machine exposes (/proc/sys names), mapped onto its kernel profile's knobs. Writes
 * follow the kernel's handlers: ranges are checked, and vm.overcommit_ratio / vm.overcommit_kbytes
 * exclude each other (writing one zeroes the other). The caller tells the machine afterwards
 * (Machine.profile_changed: watermarks, replacement policy).
 */
import { z } from "zod";
import type { Limits } from "../config.js";
import { default_min_free_kbytes } from "../core/mem/page_alloc.js";
import type { KernelProfile } from "../core/profile.js";
import { overLimit } from "./errors.js";

interface Knob {
  key: keyof KernelProfile;
  schema: z.ZodType<number>;
  toProfile?: (v: number) => KernelProfile[keyof KernelProfile];
  fromProfile?: (p: KernelProfile) => number;
  /** Profile fields set to 0 when this one is written. */
  clears?: (keyof KernelProfile)[];
}

const nonneg = z.int().min(0);

export const SYSCTLS = {
  "vm.max_map_count": { key: "maxMapCount", schema: nonneg },
  "vm.overcommit_memory": { key: "overcommitMemory", schema: z.int().min(0).max(2) },
  "vm.overcommit_ratio": { key: "overcommitRatio", schema: nonneg, clears: ["overcommitKbytes"] },
  "vm.overcommit_kbytes": { key: "overcommitKbytes", schema: nonneg, clears: ["overcommitRatio"] },
  "vm.admin_reserve_kbytes": { key: "adminReserveKbytes", schema: nonneg },
  "vm.user_reserve_kbytes": { key: "userReserveKbytes", schema: nonneg },
  "vm.mmap_min_addr": { key: "mmapMinAddr", schema: nonneg },
  "vm.legacy_va_layout": {
    key: "legacyVaLayout",
    schema: nonneg,
    toProfile: (v) => v !== 0,
    fromProfile: (p) => (p.legacyVaLayout ? 1 : 0),
  },
  "kernel.randomize_va_space": { key: "randomizeVaSpace", schema: z.int().min(0).max(2) },
  "vm.swappiness": { key: "swappiness", schema: z.int().min(0).max(200) },
  "vm.watermark_scale_factor": { key: "watermarkScaleFactor", schema: z.int().min(1).max(3000) },
  // Reads the value in force (derived from RAM until written); 0 is a value like any other.
  "vm.min_free_kbytes": {
    key: "minFreeKbytes",
    schema: nonneg,
    fromProfile: (p) =>
      p.minFreeKbytes ?? default_min_free_kbytes(Math.floor(p.ramBytes / 4096), p.thpEnabled),
  },
} as const satisfies Record<string, Knob>;

export type SysctlName = keyof typeof SYSCTLS;
export type SysctlValues = Partial<Record<SysctlName, number>>;

const shape = Object.fromEntries(
  Object.entries(SYSCTLS).map(([k, v]) => [k, (v.schema as z.ZodType<number>).optional()]),
) as Record<SysctlName, z.ZodOptional<z.ZodType<number>>>;

/** A sysctl write: some of the names with their new values. */
export const SysctlPatch = z.strictObject(shape).meta({ id: "SysctlPatch" });
/** Every sysctl with its value. */
export const SysctlView = z
  .object(Object.fromEntries(Object.keys(SYSCTLS).map((k) => [k, z.int()])) as Record<SysctlName, z.ZodInt>)
  .meta({ id: "Sysctl" });

export function readSysctl(p: KernelProfile): Record<SysctlName, number> {
  const out = {} as Record<SysctlName, number>;
  for (const [name, k] of Object.entries(SYSCTLS) as [SysctlName, Knob][]) {
    out[name] = k.fromProfile ? k.fromProfile(p) : (p[k.key] as number);
  }
  return out;
}

/** Write sysctls into a profile (values already validated by SysctlPatch); limits apply. */
export function applySysctl(p: KernelProfile, values: SysctlValues, limits: Limits): void {
  const mmc = values["vm.max_map_count"];
  if (mmc !== undefined && mmc > limits.maxMapCount)
    throw overLimit(
      "LIMIT_MAX_MAP_COUNT",
      `vm.max_map_count ${mmc} is above the limit ${limits.maxMapCount} (MAX_MAP_COUNT)`,
    );
  const w = p as unknown as Record<string, unknown>;
  for (const [name, v] of Object.entries(values) as [SysctlName, number | undefined][]) {
    if (v === undefined) continue;
    const k: Knob = SYSCTLS[name];
    w[k.key] = k.toProfile ? k.toProfile(v) : v;
    for (const c of k.clears ?? []) w[c] = 0;
  }
}
