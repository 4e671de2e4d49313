/** Runs generated traces on the kernel and the engine and compares them. */
import { compare, type Divergence } from "./compare.js";
import { runOnEngine } from "./engine.js";
import { generateTrace, type Profile } from "./generate.js";
import { type Host, runOnHost } from "./host.js";

export interface TraceOutcome {
  profile: Profile;
  seed: number;
  calls: number;
  divergence: Divergence | null;
  error?: string;
}

export function runTrace(host: Host, profile: Profile, seed: number): TraceOutcome {
  const trace = generateTrace(profile, seed);
  const calls = trace.filter((l) => !/(^|: )s?maps$/.test(l)).length;
  const k = runOnHost(host, trace);
  try {
    const e = runOnEngine(trace, host.profile, k.workdir, host.root);
    return { profile, seed, calls, divergence: compare(trace, k.lines, e.lines) };
  } catch (err) {
    return {
      profile,
      seed,
      calls,
      divergence: null,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    };
  }
}

export function formatDivergence(o: TraceOutcome): string {
  if (o.error) return `${o.profile} seed ${o.seed}: engine threw\n${o.error}`;
  const d = o.divergence!;
  return [
    `${o.profile} seed ${o.seed}: first divergence at output line ${d.line}, call \`${d.call}\``,
    "  trace before it:",
    ...d.context.map((c) => `    ${c}`),
    `  kernel: ${d.kernel ?? "(nothing)"}`,
    `  engine: ${d.engine ?? "(nothing)"}`,
  ].join("\n");
}

/** Run a hand-written trace file on both sides. */
export function runCase(host: Host, trace: string[]): Divergence | null {
  const k = runOnHost(host, trace);
  const e = runOnEngine(trace, host.profile, k.workdir, host.root);
  return compare(trace, k.lines, e.lines);
}
