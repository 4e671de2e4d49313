/**
 * The committed openapi.yaml is what the code generates, and it is a valid OpenAPI 3.1 document.
 */
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { generateOpenApi } from "../../scripts/openapi.js";
import { CALLS } from "../../src/http/calls.js";

const committed = readFileSync(new URL("../../openapi.yaml", import.meta.url), "utf8");

describe("openapi.yaml", () => {
  it("matches what the route schemas generate (run npm run openapi after changing them)", async () => {
    expect(await generateOpenApi()).toBe(committed);
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    const v = new Validator();
    const r = await v.validate(parse(committed));
    expect(r.errors ?? []).toEqual([]);
    expect(r.valid).toBe(true);
    expect(v.version).toBe("3.1");
  });

  it("documents every call's route", () => {
    const doc = parse(committed) as { paths: Record<string, unknown> };
    for (const name of CALLS.keys())
      expect(doc.paths).toHaveProperty([`/v1/machines/{mid}/tasks/{pid}/${name}`]);
    expect(doc.paths).toHaveProperty(["/v1/machines/{mid}/batch"]);
  });
});
