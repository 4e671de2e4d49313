/**
 * npm run conformance -- --traces N --profile P --seed S
 * Runs N traces per profile (all profiles unless --profile) starting at seed S and prints a table:
 * traces and calls per profile, identical, divergent, and the first divergences.
 */
import { parseArgs } from "node:util";
import { PROFILES, type Profile } from "./generate.js";
import { setupHost, unsupportedReason } from "./host.js";
import { formatDivergence, runTrace } from "./run.js";

const USAGE = `usage: npm run conformance -- [--traces N] [--profile ${PROFILES.join("|")}] [--seed S] [--show K]
  --traces N   traces per profile (default 100)
  --profile P  one profile (default: all)
  --seed S     first seed (default 0); trace i uses seed S + i
  --show K     divergences to print in full (default 3)`;

function usageError(msg: string): never {
  console.error(`${msg}\n${USAGE}`);
  process.exit(2);
}

let values: { traces: string; profile?: string; seed: string; show: string; help?: boolean };
try {
  values = parseArgs({
    options: {
      traces: { type: "string", default: "100" },
      profile: { type: "string" },
      seed: { type: "string", default: "0" },
      show: { type: "string", default: "3" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (e) {
  usageError((e as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const reason = unsupportedReason();
if (reason) {
  console.log(`conformance SKIPPED: ${reason}`);
  process.exit(0);
}
const count = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) usageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};
const traces = count("traces", values.traces, 1);
const seed0 = count("seed", values.seed, 0);
const show = count("show", values.show, 0);
const profiles: Profile[] = values.profile ? [values.profile as Profile] : [...PROFILES];
for (const p of profiles) if (!PROFILES.includes(p)) usageError(`unknown profile "${p}"`);

const host = setupHost();
console.log(`host profile: ${JSON.stringify(host.profile)}`);
const rows: string[][] = [["profile", "traces", "calls", "identical", "divergent"]];
const shown: string[] = [];
let divergentTotal = 0;
const t0 = performance.now();
for (const p of profiles) {
  let calls = 0;
  let same = 0;
  let diff = 0;
  for (let s = seed0; s < seed0 + traces; s++) {
    const o = runTrace(host, p, s);
    calls += o.calls;
    if (o.divergence || o.error) {
      diff++;
      if (shown.length < show) shown.push(formatDivergence(o));
    } else same++;
  }
  divergentTotal += diff;
  rows.push([p, String(traces), String(calls), String(same), String(diff)]);
}
host.cleanup();
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i]!)).join("  "));
console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (shown.length) console.log(`\nfirst divergences:\n\n${shown.join("\n\n")}`);
process.exit(divergentTotal ? 1 : 0);
