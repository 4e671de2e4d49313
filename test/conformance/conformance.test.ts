/**
 * The kernel conformance suite: seeded random traces run on this machine's kernel (the oracle) and
 * on the engine, compared line by line after the named rules of compare.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { PROFILES } from "./generate.js";
import { type Host, setupHost, unsupportedReason } from "./host.js";
import { formatDivergence, runCase, runTrace } from "./run.js";

/** Traces per profile in `npm test` (the CLI runs any number). */
const TRACES = 110;
const reason = unsupportedReason();

describe.skipIf(reason !== null)("conformance against the host kernel", () => {
  let host: Host | undefined;
  const getHost = () => {
    host ??= setupHost();
    return host;
  };
  afterAll(() => host?.cleanup());

  const casesDir = join(dirname(fileURLToPath(import.meta.url)), "cases");
  for (const file of readdirSync(casesDir).filter((f) => f.endsWith(".trace"))) {
    it(`case ${file}`, () => {
      const trace = readFileSync(join(casesDir, file), "utf8").split("\n");
      const d = runCase(getHost(), trace);
      expect(d && { call: d.call, kernel: d.kernel, engine: d.engine, context: d.context }).toBeNull();
    });
  }

  for (const profile of PROFILES) {
    it(`${profile}: ${TRACES} traces identical`, () => {
      const h = getHost();
      const failures: string[] = [];
      for (let seed = 0; seed < TRACES; seed++) {
        const o = runTrace(h, profile, seed);
        if (o.divergence || o.error) failures.push(formatDivergence(o));
      }
      expect(failures.slice(0, 3).join("\n\n")).toBe("");
    });
  }
});

if (reason !== null) {
  it(`conformance SKIPPED: ${reason}`, () => {
    console.warn(`conformance suite SKIPPED: ${reason}`);
  });
}
