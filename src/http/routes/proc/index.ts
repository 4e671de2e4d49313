/**
 * /proc/PID views of a task: maps, smaps, smaps_rollup, status, statm as the
 * kernel prints them (text/plain) or as JSON (Accept: application/json); mm, vmas and pagemap as
 * JSON. Views work for zombies (no mm: empty, as Linux shows) and vfork parents.
 */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { PAGE_SIZE } from "../../../core/abi/mman.js";
import {
  PM_FILE,
  PM_GUARD_REGION,
  PM_MMAP_EXCLUSIVE,
  PM_PFRAME_MASK,
  PM_PRESENT,
  PM_SOFT_DIRTY,
  PM_SWAP,
  pagemap_read,
} from "../../../core/mm/pagemap.js";
import {
  mm_view,
  show_maps,
  show_smap,
  show_smaps,
  show_smaps_rollup,
  show_statm,
  vma_view,
} from "../../../core/mm/procfs.js";
import { show_status } from "../../../core/task/status.js";
import { plainJson, wantsJson } from "../../content.js";
import { conflict } from "../../errors.js";
import { errors, hexAddr, TaskParams } from "../../schemas/common.js";
import { KbFields, MmView, Pagemap, PagemapQuery, SmapsList, Statm, VmaList } from "./schemas.js";

/** status values that are text whatever they look like: a name, octal, hex masks, CPU and node lists. */
const TEXT_KEYS = new Set([
  "Umask",
  "Cpus_allowed",
  "Cpus_allowed_list",
  "Mems_allowed",
  "Mems_allowed_list",
]);

/**
 * "Key:   value" lines to {Key: value}: decimal numbers (sizes in kB) as numbers, other values as
 * strings (so status's octal Umask and hex signal and capability sets keep their leading zeros).
 * Name is taken as printed after its tab, spaces and all.
 */
function fields(text: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const key = line.slice(0, i);
    if (key === "Name") {
      out[key] = line.slice(i + 2);
      continue;
    }
    const value = line.slice(i + 1).trim();
    const n = TEXT_KEYS.has(key) ? null : /^(0|[1-9][0-9]*)( kB)?$/.exec(value);
    out[key] = n ? Number(n[1]) : value;
  }
  return out;
}

const tags = ["proc"];

export default async function procRoutes(base: FastifyInstance): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();

  const view = (
    name: string,
    summary: string,
    json: z.ZodType,
    text: (e: ReturnType<typeof app.machines.get>, pid: number) => string,
    toJson: (e: ReturnType<typeof app.machines.get>, pid: number) => unknown,
  ) =>
    app.get(
      `/machines/:mid/tasks/:pid/${name}`,
      {
        schema: {
          tags,
          summary,
          params: TaskParams,
          response: {
            200: {
              description: "text/plain as /proc prints it; JSON with Accept: application/json",
              content: { "text/plain": { schema: z.string() }, "application/json": { schema: json } },
            },
            ...errors(404),
          },
        },
        serializerCompiler: plainJson,
      },
      async (req, reply) => {
        const e = app.machines.get(req.params.mid);
        const pid = req.params.pid;
        if (wantsJson(req)) return reply.type("application/json").send(toJson(e, pid));
        return reply.type("text/plain; charset=utf-8").send(text(e, pid));
      },
    );

  const mmOf = (e: ReturnType<typeof app.machines.get>, pid: number) => e.task(pid).mm;

  view(
    "maps",
    "/proc/PID/maps",
    VmaList,
    (e, pid) => show_maps(e.machine, mmOf(e, pid)),
    (e, pid) => {
      const mm = mmOf(e, pid);
      return mm ? [...mm.mm_mt].map(vma_view) : [];
    },
  );
  view(
    "smaps",
    "/proc/PID/smaps",
    SmapsList,
    (e, pid) => show_smaps(e.machine, mmOf(e, pid)),
    (e, pid) => {
      const mm = mmOf(e, pid);
      if (!mm) return [];
      return [...mm.mm_mt].map((v) => {
        const block = show_smap(e.machine, v);
        return { ...vma_view(v), smaps: fields(block.slice(block.indexOf("\n") + 1)) };
      });
    },
  );
  view(
    "smaps_rollup",
    "/proc/PID/smaps_rollup",
    KbFields,
    (e, pid) => show_smaps_rollup(e.machine, mmOf(e, pid)),
    (e, pid) => {
      const text = show_smaps_rollup(e.machine, mmOf(e, pid));
      return fields(text.slice(text.indexOf("\n") + 1));
    },
  );
  view(
    "status",
    "/proc/PID/status (identity, state, memory lines, signals, capabilities, placement)",
    KbFields,
    (e, pid) => show_status(e.machine, e.task(pid)),
    (e, pid) => fields(show_status(e.machine, e.task(pid))),
  );
  view(
    "statm",
    "/proc/PID/statm (pages)",
    Statm,
    (e, pid) => show_statm(e.machine, mmOf(e, pid)),
    (e, pid) => {
      const [size, resident, shared, text, lib, data, dt] = show_statm(e.machine, mmOf(e, pid))
        .trim()
        .split(" ")
        .map(Number);
      return { size, resident, shared, text, lib, data, dt };
    },
  );

  const liveMm = (e: ReturnType<typeof app.machines.get>, pid: number) => {
    const mm = e.task(pid).mm;
    if (!mm) throw conflict("TASK_ZOMBIE", `task ${pid} has exited: it has no mm`);
    return mm;
  };

  app.get(
    "/machines/:mid/tasks/:pid/mm",
    {
      schema: {
        tags,
        summary: "The task's mm_struct",
        params: TaskParams,
        response: { 200: MmView, ...errors(404, 409) },
      },
      serializerCompiler: plainJson,
    },
    async (req) => {
      const e = app.machines.get(req.params.mid);
      return mm_view(e.machine, liveMm(e, req.params.pid));
    },
  );

  app.get(
    "/machines/:mid/tasks/:pid/vmas",
    {
      schema: {
        tags,
        summary: "The task's VMAs",
        params: TaskParams,
        response: { 200: VmaList, ...errors(404, 409) },
      },
      serializerCompiler: plainJson,
    },
    async (req) => {
      const e = app.machines.get(req.params.mid);
      return [...liveMm(e, req.params.pid).mm_mt].map(vma_view);
    },
  );

  app.get(
    "/machines/:mid/tasks/:pid/pagemap",
    {
      schema: {
        tags,
        summary: "/proc/PID/pagemap entries for [start, end)",
        params: TaskParams,
        querystring: PagemapQuery,
        response: { 200: Pagemap, ...errors(400, 404, 409) },
      },
      serializerCompiler: plainJson,
    },
    async (req) => {
      const e = app.machines.get(req.params.mid);
      const { start, end } = req.query;
      const raw = pagemap_read(e.machine, liveMm(e, req.params.pid), start, end);
      return {
        start: hexAddr(start),
        end: hexAddr(end),
        entries: raw.map((x, i) => ({
          addr: hexAddr(start + i * PAGE_SIZE),
          entry: `0x${x.toString(16)}`,
          present: (x & PM_PRESENT) !== 0n,
          swapped: (x & PM_SWAP) !== 0n,
          file_shared: (x & PM_FILE) !== 0n,
          exclusive: (x & PM_MMAP_EXCLUSIVE) !== 0n,
          soft_dirty: (x & PM_SOFT_DIRTY) !== 0n,
          guard: (x & PM_GUARD_REGION) !== 0n,
          pfn: Number(x & PM_SWAP ? (x & PM_PFRAME_MASK) >> 5n : x & PM_PFRAME_MASK),
        })),
      };
    },
  );
}
