/**
 * The Dockerfile passes a Dockerfile linter (dockerfile-utils, the engine behind the Docker VS Code
 * extension's diagnostics) and has the shape a service image needs. Running it is
 * `npm run verify:image` (scripts/dockerfile-run.ts): too slow and network-bound for every test run.
 */
import { readFileSync } from "node:fs";
import { DockerfileParser } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";

const text = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8");

describe("Dockerfile", () => {
  it("has no linter diagnostics", () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it("builds with dev dependencies and runs with production ones only, as a non-root user", () => {
    const df = DockerfileParser.parse(text);
    const froms = df.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f.getImageName()).toBe("node");
    for (const f of froms) expect(f.getImageTag()).toBe("22-bookworm-slim");
    const stages = df.getInstructions();
    const lastFrom = stages.lastIndexOf(froms.at(-1)!);
    const runtime = stages.slice(lastFrom);
    const kw = (k: string) => runtime.filter((i) => i.getKeyword() === k);
    expect(kw("RUN")).toEqual([]); // nothing installed in the runtime stage itself
    expect(kw("USER").map((i) => i.getArgumentsContent())).toEqual(["node"]);
    expect(kw("EXPOSE").map((i) => i.getArgumentsContent())).toEqual(["3000"]);
    expect(kw("HEALTHCHECK")[0]?.getArgumentsContent()).toContain("/healthz");
    expect(kw("CMD")[0]?.getArgumentsContent()).toBe('["node", "dist/server.js"]');
    expect(text).toMatch(/npm ci --omit=dev/);
  });

  it(".dockerignore keeps local state out of the context", () => {
    const ignore = readFileSync(new URL("../../.dockerignore", import.meta.url), "utf8").split("\n");
    for (const p of ["node_modules", "dist", ".git"]) expect(ignore).toContain(p);
  });
});
