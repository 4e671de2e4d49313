/**
 * What a subscription lets through: a stream's scope (one machine, or all) and the client's filter
 * (types, pids, mm ids, machines). Subscriptions with equal keys see the same events, so the hub
 * builds their frames once.
 */
import type { Encoded } from "./ring.js";

export interface FilterSpec {
  types?: readonly string[];
  pids?: readonly number[];
  mm?: readonly number[];
  machines?: readonly string[];
}

const sorted = <T>(xs: readonly T[] | undefined) =>
  xs ? [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : undefined;

export class EventFilter {
  /** null: everything passes on that field. */
  private readonly types: ReadonlySet<string> | null;
  private readonly pids: ReadonlySet<number> | null;
  private readonly mms: ReadonlySet<number> | null;
  private readonly machines: ReadonlySet<string> | null;
  /** Equal keys: equal filters. */
  readonly key: string;
  /** The filter as the client sees it (lists sorted, duplicates removed). */
  readonly spec: FilterSpec;

  /** `scope`: the machine of a machine stream, or null for the all-machines stream. */
  constructor(
    readonly scope: string | null,
    spec: FilterSpec,
  ) {
    const s: FilterSpec = {};
    const types = sorted(spec.types);
    const pids = sorted(spec.pids);
    const mm = sorted(spec.mm);
    const machines = scope === null ? sorted(spec.machines) : undefined;
    if (types) s.types = types;
    if (pids) s.pids = pids;
    if (mm) s.mm = mm;
    if (machines) s.machines = machines;
    this.spec = s;
    this.types = types ? new Set(types) : null;
    this.pids = pids ? new Set(pids) : null;
    this.mms = mm ? new Set(mm) : null;
    this.machines = scope !== null ? new Set([scope]) : machines ? new Set(machines) : null;
    this.key = JSON.stringify([scope, s]);
  }

  /** Could an event of this machine pass? */
  seesMachine(machine: string): boolean {
    return this.machines === null || this.machines.has(machine);
  }

  matches(e: Encoded): boolean {
    return (
      (this.machines === null || this.machines.has(e.machine)) &&
      (this.types === null || this.types.has(e.type)) &&
      (this.pids === null || this.pids.has(e.pid)) &&
      (this.mms === null || this.mms.has(e.mm))
    );
  }
}
