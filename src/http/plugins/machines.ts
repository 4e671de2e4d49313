/**
 * The machine registry as a service of the app (`app.machines`), with the machine named "default"
 * created at start. Machine creation and deletion are logged.
 */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { Limits } from "../../config.js";
import { STOCK_PROFILE } from "../../core/profile.js";
import { MachineRegistry } from "../machine_registry.js";

declare module "fastify" {
  interface FastifyInstance {
    machines: MachineRegistry;
  }
}

async function machinesPlugin(app: FastifyInstance, opts: { limits: Limits }): Promise<void> {
  const registry = new MachineRegistry(opts.limits);
  registry.onCreate((e) => app.log.info({ machine: e.id }, "machine created"));
  registry.onDelete((e) => app.log.info({ machine: e.id }, "machine deleted"));
  // The stock kernel's 8 GiB, unless the per-machine limit is lower.
  registry.create({
    name: "default",
    ramBytes: Math.min(STOCK_PROFILE.ramBytes, opts.limits.machineRamBytes),
  });
  app.decorate("machines", registry);
}

export default fp(machinesPlugin, { name: "machines" });
