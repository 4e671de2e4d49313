/**
 * The machines the service holds, by id, with the limits on how many and how much simulated RAM.
 * Each machine is an independent engine (`core/machine.ts`). An event bus attaches later through
 * `onCreate`/`onDelete`: it sets `machine.sink` for a machine it streams and drops it on delete;
 * until something sets a sink the core builds no events at all.
 */

import type { Limits } from "../config.js";
import { Machine } from "../core/machine.js";
import type { KernelProfile } from "../core/profile.js";
import type { task_struct } from "../core/task/task.js";
import { ApiError, conflict, notFound, overLimit } from "./errors.js";
import { applySysctl, type SysctlValues } from "./sysctl.js";

export interface MachineSpec {
  name?: string;
  seed?: number | string;
  ramBytes?: number;
  swapBytes?: number;
  profile?: Partial<KernelProfile>;
  sysctl?: SysctlValues;
}

export class MachineEntry {
  constructor(
    readonly id: string,
    readonly seed: number | string,
    readonly machine: Machine,
  ) {}

  /** The task `pid`, if it exists (a zombie included). */
  task(pid: number): task_struct {
    const t = this.machine.tasks.get(pid);
    if (!t) throw notFound("TASK_NOT_FOUND", `no task ${pid} on machine ${this.id}`);
    return t;
  }

  /** The task `pid`, which must be able to run a call now. */
  runnable(pid: number): task_struct {
    const t = this.machine.tasks.get(pid);
    if (!t) throw notFound("TASK_NOT_FOUND", `no task ${pid} on machine ${this.id}`);
    if (t.state === "running" && t.mm) return t;
    if (t.state === "vfork-waiting")
      throw conflict(
        "TASK_VFORK_WAITING",
        `task ${pid} is a vfork parent: it runs again when its child execs or exits`,
      );
    throw conflict("TASK_ZOMBIE", `task ${pid} has exited (zombie): only wait4 by its parent reaps it`);
  }
}

type Listener = (e: MachineEntry) => void;

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class MachineRegistry {
  private readonly byId = new Map<string, MachineEntry>();
  private nextId = 1;
  private ramTotal = 0;
  private readonly created = new Set<Listener>();
  private readonly deleted = new Set<Listener>();

  constructor(readonly limits: Limits) {}

  get size(): number {
    return this.byId.size;
  }

  get totalRamBytes(): number {
    return this.ramTotal;
  }

  /** Called after a machine is created / deleted; returns the unsubscribe function. */
  onCreate(l: Listener): () => void {
    this.created.add(l);
    return () => this.created.delete(l);
  }
  onDelete(l: Listener): () => void {
    this.deleted.add(l);
    return () => this.deleted.delete(l);
  }

  create(spec: MachineSpec = {}): MachineEntry {
    const L = this.limits;
    if (this.byId.size >= L.machines)
      throw overLimit("LIMIT_MACHINES", `at most ${L.machines} machines (MAX_MACHINES)`);
    let id = spec.name;
    if (id !== undefined) {
      if (!ID.test(id)) throw new ApiError(400, "BAD_MACHINE_NAME", `machine name must match ${ID}`);
      if (this.byId.has(id)) throw conflict("MACHINE_EXISTS", `a machine named ${id} exists`);
    } else {
      do id = `m${this.nextId++}`;
      while (this.byId.has(id));
    }
    const profile: Partial<KernelProfile> = { ...spec.profile };
    if (spec.ramBytes !== undefined) profile.ramBytes = spec.ramBytes;
    if (spec.swapBytes !== undefined) profile.swapBytes = spec.swapBytes;
    const seed = spec.seed ?? 0;
    const machine = new Machine({ seed, profile });
    if (spec.sysctl) {
      applySysctl(machine.profile, spec.sysctl, L);
      machine.profile_changed();
    }
    if (machine.profile.maxMapCount > L.maxMapCount)
      throw overLimit(
        "LIMIT_MAX_MAP_COUNT",
        `max_map_count ${machine.profile.maxMapCount} is above the limit ${L.maxMapCount} (MAX_MAP_COUNT)`,
      );
    const ram = machine.profile.ramBytes;
    if (ram > L.machineRamBytes)
      throw overLimit(
        "LIMIT_MACHINE_RAM",
        `ramBytes ${ram} is above the per-machine limit ${L.machineRamBytes} (MACHINE_RAM_MAX)`,
      );
    if (this.ramTotal + ram > L.totalRamBytes)
      throw overLimit(
        "LIMIT_TOTAL_RAM",
        `ramBytes ${ram} would bring the machines' RAM to ${this.ramTotal + ram}, above ${L.totalRamBytes} (TOTAL_RAM_MAX)`,
      );
    const entry = new MachineEntry(id, seed, machine);
    this.byId.set(id, entry);
    this.ramTotal += ram;
    for (const l of this.created) l(entry);
    return entry;
  }

  get(id: string): MachineEntry {
    const e = this.byId.get(id);
    if (!e) throw notFound("MACHINE_NOT_FOUND", `no machine ${id}`);
    return e;
  }

  list(): MachineEntry[] {
    return [...this.byId.values()];
  }

  delete(id: string): void {
    const e = this.get(id);
    this.byId.delete(id);
    this.ramTotal -= e.machine.profile.ramBytes;
    for (const l of this.deleted) l(e);
  }

  /** Tasks on all machines (zombies included). */
  taskCount(): number {
    let n = 0;
    for (const e of this.byId.values()) n += e.machine.tasks.size;
    return n;
  }
}
