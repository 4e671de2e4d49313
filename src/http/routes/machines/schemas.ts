import { z } from "zod";
import { REPLACEMENT_POLICIES, type ReplacementPolicy } from "../../../core/mem/lru.js";
import { SysctlPatch, SysctlView } from "../../sysctl.js";

const bytes = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Swap slots are 24-bit numbers in a swap entry: less than 64 GiB. */
const swapBytes = z
  .int()
  .min(0)
  .max(2 ** 36 - 4096);

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
    thpEnabled: z.boolean().meta({
      description: "transparent_hugepage/enabled is always or madvise: raises the derived vm.min_free_kbytes",
    }),
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
    swapBytes: swapBytes,
    minFreeKbytes: z.int().min(0).nullable().meta({
      description: "vm.min_free_kbytes; null: derived from RAM as the kernel derives it at boot",
    }),
    watermarkScaleFactor: z.int().min(1).max(3000),
    swappiness: z.int().min(0).max(200),
    replacementPolicy: z.enum(REPLACEMENT_POLICIES as [ReplacementPolicy, ...ReplacementPolicy[]]).meta({
      description:
        "How pages are chosen for eviction: linux (active/inactive LRU lists, second chance, workingset), or the classic fifo, lru (every access moves the page to the head) and clock (second chance on one list)",
    }),
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
    swapBytes: swapBytes.optional(),
    profile: Profile.partial().optional(),
    sysctl: SysctlPatch.optional(),
  })
  .meta({ id: "CreateMachine" });

/** What may change on a running machine (the rest of the profile is fixed at creation or a sysctl). */
export const PatchMachine = z
  .strictObject({ replacementPolicy: Profile.shape.replacementPolicy })
  .meta({ id: "PatchMachine" });

export const MachineView = z
  .object({
    id: z.string(),
    seed: z.union([z.int(), z.string()]),
    // Not strict on the way out: a knob added to the core's profile must not break this reply.
    profile: z.object(Profile.shape).meta({ id: "KernelProfileView" }),
    tasks: z.int().meta({ description: "Tasks, zombies included" }),
    frames: z.int().meta({ description: "Physical frames in use (the zero page excluded)" }),
    free_pages: z.int().meta({ description: "Free pages (MemFree in pages)" }),
    swap_used: z.int().meta({ description: "Swap slots in use" }),
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
