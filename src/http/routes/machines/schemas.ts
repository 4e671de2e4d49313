import { z } from "zod";
import { SysctlPatch, SysctlView } from "../../sysctl.js";

const bytes = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The kernel knobs of a machine (core/profile.ts KernelProfile), any subset when creating one. */
export const Profile = z
  .strictObject({
    zeroPage: z.boolean(),
    mmapMinAddr: z.int().min(0),
    lsmMmapMinAddr: z.int().min(0),
    maxMapCount: z.int().min(0),
    overcommitMemory: z.union([z.literal(0), z.literal(1), z.literal(2)]),
    overcommitRatio: z.int().min(0),
    overcommitKbytes: z.int().min(0),
    adminReserveKbytes: z.int().min(0),
    userReserveKbytes: z.int().min(0),
    thpAlignAnon: z.boolean(),
    shmemThpAlign: z.boolean(),
    fileThpAlign: z.boolean(),
    faultAroundBytes: z
      .int()
      .min(0)
      .max(2 ** 21),
    randomizeVaSpace: z.union([z.literal(0), z.literal(1), z.literal(2)]),
    stackGuardGapPages: z
      .int()
      .min(0)
      .max(2 ** 20),
    legacyVaLayout: z.boolean(),
    memoryFailure: z.boolean(),
    softDirty: z.boolean(),
    pku: z.boolean(),
    ramBytes: bytes.min(4096),
    swapBytes: bytes,
  })
  .meta({ id: "KernelProfile", description: "The kernel knobs that differ between kernels and hosts" });

export const CreateMachine = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/)
      .optional()
      .meta({ description: "The machine's id (generated as m1, m2 … when absent)" }),
    seed: z
      .union([z.int(), z.string().max(256)])
      .optional()
      .meta({ description: "RNG seed (ASLR): the same seed replays the same layouts. Default 0" }),
    ramBytes: bytes.min(4096).optional(),
    swapBytes: bytes.optional(),
    profile: Profile.partial().optional(),
    sysctl: SysctlPatch.optional(),
  })
  .meta({ id: "CreateMachine" });

export const MachineView = z
  .object({
    id: z.string(),
    seed: z.union([z.int(), z.string()]),
    // Not strict on the way out: a knob added to the core's profile must not break this reply.
    profile: z.object(Profile.shape).meta({ id: "KernelProfileView" }),
    tasks: z.int().meta({ description: "Tasks, zombies included" }),
    frames: z.int().meta({ description: "Physical frames in use (the zero page excluded)" }),
    committed_as: z.int().meta({ description: "vm_committed_as, pages" }),
  })
  .meta({ id: "Machine" });

export const MachineList = z.object({ machines: z.array(MachineView) });

export { SysctlPatch, SysctlView };

export const Meminfo = z
  .record(z.string(), z.int())
  .meta({ id: "Meminfo", description: "/proc/meminfo fields in kB (HugePages_* are page counts)" });
export const Vmstat = z
  .record(z.string(), z.int())
  .meta({ id: "Vmstat", description: "/proc/vmstat counters" });
