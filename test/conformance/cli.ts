/**
 * npm run conformance -- --traces N --profile P --seed S
 * Runs N traces per profile (all profiles unless --profile) starting at seed S and prints a table:
 * traces and calls per profile, identical, divergent, and the first divergences.
 */
import { parseArgs } from "node:util";
import { PROFILES, type Profile } from "./generate.js";
import { setupHost, unsupportedReason } from "./host.js";
import { formatDivergence, runTrace } from "./run.js";

const { values } = parseArgs({
  options: {
    traces: { type: "string", default: "100" },
    profile: { type: "string" },
    seed: { type: "string", default: "0" },
    show: { type: "string", default: "3" },
  },
});

const reason = unsupportedReason();
if (reason) {
  console.log(`conformance SKIPPED: ${reason}`);
  process.exit(0);
}
const traces = Number(values.traces);
const seed0 = Number(values.seed);
const show = Number(values.show);
const profiles: Profile[] = values.profile ? [values.profile as Profile] : [...PROFILES];
for (const p of profiles)
  if (!PROFILES.includes(p)) throw new Error(`unknown profile ${p} (${PROFILES.join(", ")})`);

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
