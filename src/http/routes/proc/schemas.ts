import { z } from "zod";
import { HexAddress, Ulong } from "../../schemas/common.js";

export const Vma = z
  .object({
    vm_start: HexAddress,
    vm_end: HexAddress,
    perms: z.string().meta({ examples: ["rw-p"] }),
    vm_flags: z.array(z.string()),
    vm_pgoff: z.int(),
    vm_page_prot: z.string(),
    vm_ops: z.enum(["anonymous", "file", "shmem", "special"]),
    vm_file: z
      .object({ path: z.string(), ino: z.int(), dev: z.string(), id: z.int(), deleted: z.boolean() })
      .nullable(),
    anon_vma: z.object({ id: z.int(), fork_child: z.boolean() }).nullable(),
    name: z.string().nullable(),
  })
  .meta({ id: "Vma", description: "A vm_area_struct under the kernel's field names" });

export const VmaList = z.array(Vma);

const Kb = z.record(z.string(), z.union([z.int(), z.string()]));

export const SmapsEntry = Vma.extend({
  smaps: Kb.meta({ description: "The smaps lines of this VMA: sizes in kB, THPeligible, VmFlags" }),
}).meta({ id: "SmapsEntry" });
export const SmapsList = z.array(SmapsEntry);
export const KbFields = Kb.meta({ id: "KbFields", description: "Key: value lines, sizes in kB" });

export const Statm = z
  .object({
    size: z.int(),
    resident: z.int(),
    shared: z.int(),
    text: z.int(),
    lib: z.int(),
    data: z.int(),
    dt: z.int(),
  })
  .meta({ id: "Statm", description: "/proc/PID/statm in pages" });

export const MmView = z
  .object({
    id: z.int(),
    owner: z.int().nullable(),
    mm_users: z.int(),
    mm_count: z.int(),
    map_count: z.int(),
    get_unmapped_area: z.enum(["topdown", "bottomup"]),
    mmap_base: HexAddress,
    mmap_legacy_base: HexAddress,
    task_size: HexAddress,
    total_vm: z.int(),
    locked_vm: z.int(),
    pinned_vm: z.int(),
    shared_vm: z.int(),
    exec_vm: z.int(),
    stack_vm: z.int(),
    data_vm: z.int(),
    hiwater_vm: z.int(),
    hiwater_rss: z.int(),
    rss_stat: z.object({
      MM_FILEPAGES: z.int(),
      MM_ANONPAGES: z.int(),
      MM_SWAPENTS: z.int(),
      MM_SHMEMPAGES: z.int(),
    }),
    pgtables_bytes: z.int(),
    def_flags: z.array(z.string()),
    start_code: HexAddress,
    end_code: HexAddress,
    start_data: HexAddress,
    end_data: HexAddress,
    start_brk: HexAddress,
    brk: HexAddress,
    start_stack: HexAddress,
    arg_start: HexAddress,
    arg_end: HexAddress,
    env_start: HexAddress,
    env_end: HexAddress,
    vmas: VmaList,
  })
  .meta({ id: "MmStruct", description: "mm_struct fields under their kernel names" });

/** The most pages one pagemap request may cover. */
export const MAX_PAGEMAP_PAGES = 65536;

export const PagemapQuery = z
  .object({ start: Ulong, end: Ulong })
  .refine((q) => q.start >= 0 && q.end >= q.start, "expected 0 <= start <= end")
  .refine((q) => q.start % 4096 === 0 && q.end % 4096 === 0, "start and end must be page aligned")
  .refine((q) => (q.end - q.start) / 4096 <= MAX_PAGEMAP_PAGES, `at most ${MAX_PAGEMAP_PAGES} pages`);

export const Pagemap = z
  .object({
    start: HexAddress,
    end: HexAddress,
    entries: z.array(
      z.object({
        addr: HexAddress,
        entry: z.string().meta({ description: "The raw 64-bit entry, hex" }),
        present: z.boolean(),
        swapped: z.boolean(),
        file_shared: z.boolean(),
        exclusive: z.boolean(),
        soft_dirty: z.boolean(),
        guard: z.boolean(),
        pfn: z.int().meta({ description: "PFN (present) or swap offset (swapped); 0 otherwise" }),
      }),
    ),
  })
  .meta({ id: "Pagemap" });
