/**
 * The kernel conformance suite: seeded random traces run on this machine's kernel (the oracle) and
 * on the engine, compared line by line after the named rules of compare.ts.
 */
import { afterAll, describe, expect, it } from "vitest";
import { PROFILES } from "./generate.js";
import { type Host, setupHost, unsupportedReason } from "./host.js";
import { formatDivergence, runTrace } from "./run.js";

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
