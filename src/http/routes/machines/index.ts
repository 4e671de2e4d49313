/**
 * Machines: create (201), list, get, patch (the replacement policy), delete; their /proc/meminfo and /proc/vmstat; their sysctls.
 */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { meminfo_values, show_meminfo, show_vmstat, vmstat_values } from "../../../core/mem/meminfo.js";
import { nr_free_pages } from "../../../core/mem/page_alloc.js";
import { wantsJson } from "../../content.js";
import type { MachineEntry } from "../../machine_registry.js";
import { errors, MachineParams } from "../../schemas/common.js";
import { applySysctl, readSysctl } from "../../sysctl.js";
import {
  CreateMachine,
  MachineList,
  MachineView,
  Meminfo,
  PatchMachine,
  SysctlPatch,
  SysctlView,
  Vmstat,
} from "./schemas.js";

export function machineView(e: MachineEntry): z.infer<typeof MachineView> {
  const m = e.machine;
  return {
    id: e.id,
    seed: e.seed,
    profile: { ...m.profile },
    tasks: m.tasks.size,
    frames: m.frames.nr_used,
    free_pages: Math.max(0, nr_free_pages(m)),
    swap_used: m.swap.inuse_pages,
    committed_as: m.vm_committed_as,
  };
}

const tags = ["machines"];

export default async function machineRoutes(base: FastifyInstance): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();

  app.post(
    "/machines",
    {
      schema: {
        tags,
        summary: "Create a machine",
        body: CreateMachine,
        response: { 201: MachineView, ...errors(400, 409, 429) },
      },
    },
    async (req, reply) => reply.code(201).send(machineView(app.machines.create(req.body))),
  );

  app.get(
    "/machines",
    { schema: { tags, summary: "List machines", response: { 200: MachineList } } },
    async () => ({ machines: app.machines.list().map(machineView) }),
  );

  app.get(
    "/machines/:mid",
    {
      schema: {
        tags,
        summary: "A machine",
        params: MachineParams,
        response: { 200: MachineView, ...errors(404) },
      },
    },
    async (req) => machineView(app.machines.get(req.params.mid)),
  );

  app.patch(
    "/machines/:mid",
    {
      schema: {
        tags,
        summary:
          "Switch a running machine's replacement policy (its pages stay where they are, in one order)",
        params: MachineParams,
        body: PatchMachine,
        response: { 200: MachineView, ...errors(400, 404) },
      },
    },
    async (req) => {
      const e = app.machines.get(req.params.mid);
      e.machine.profile.replacementPolicy = req.body.replacementPolicy;
      e.machine.profile_changed();
      return machineView(e);
    },
  );

  app.delete(
    "/machines/:mid",
    {
      schema: {
        tags,
        summary: "Delete a machine and everything on it",
        params: MachineParams,
        response: { 204: z.null(), ...errors(404) },
      },
    },
    async (req, reply) => {
      app.machines.delete(req.params.mid);
      return reply.code(204).send(null);
    },
  );

  const procText = (json: z.ZodType) => ({
    200: {
      description: "text/plain as the kernel prints it; JSON with Accept: application/json",
      content: { "text/plain": { schema: z.string() }, "application/json": { schema: json } },
    },
    ...errors(404),
  });

  app.get(
    "/machines/:mid/meminfo",
    {
      schema: {
        tags,
        summary: "/proc/meminfo of the machine",
        params: MachineParams,
        response: procText(Meminfo),
      },
    },
    async (req, reply) => {
      const m = app.machines.get(req.params.mid).machine;
      if (wantsJson(req)) return reply.type("application/json").send(Object.fromEntries(meminfo_values(m)));
      return reply.type("text/plain; charset=utf-8").send(show_meminfo(m));
    },
  );

  app.get(
    "/machines/:mid/vmstat",
    {
      schema: {
        tags,
        summary: "/proc/vmstat of the machine",
        params: MachineParams,
        response: procText(Vmstat),
      },
    },
    async (req, reply) => {
      const m = app.machines.get(req.params.mid).machine;
      if (wantsJson(req)) return reply.type("application/json").send(Object.fromEntries(vmstat_values(m)));
      return reply.type("text/plain; charset=utf-8").send(show_vmstat(m));
    },
  );

  app.get(
    "/machines/:mid/sysctl",
    {
      schema: {
        tags,
        summary: "The machine's sysctls",
        params: MachineParams,
        response: { 200: SysctlView, ...errors(404) },
      },
    },
    async (req) => readSysctl(app.machines.get(req.params.mid).machine.profile),
  );

  app.patch(
    "/machines/:mid/sysctl",
    {
      schema: {
        tags,
        summary: "Write sysctls (vm.overcommit_ratio and vm.overcommit_kbytes zero each other, as in Linux)",
        params: MachineParams,
        body: SysctlPatch,
        response: { 200: SysctlView, ...errors(400, 404, 429) },
      },
    },
    async (req) => {
      const e = app.machines.get(req.params.mid);
      applySysctl(e.machine.profile, req.body, app.machines.limits);
      e.machine.profile_changed();
      return readSysctl(e.machine.profile);
    },
  );
}
