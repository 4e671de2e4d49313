/**
 * The event catalogue's documentation: the committed asyncapi.yaml is what the catalogue generates, a valid AsyncAPI 3
 * document (@asyncapi/parser, the AsyncAPI initiative's own validator) that names every event type; the README lists them all.
 */
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { generateAsyncApi } from "../../scripts/asyncapi.js";
import { EVENT_TYPES } from "../../src/events/wire.js";

const committed = readFileSync(new URL("../../asyncapi.yaml", import.meta.url), "utf8");

describe("asyncapi.yaml", () => {
  it("matches what the event catalogue generates (run npm run asyncapi after changing it)", () => {
    expect(generateAsyncApi()).toBe(committed);
  });

  it("is a valid AsyncAPI 3 document", async () => {
    const { document, diagnostics } = await new Parser().parse(committed);
    // Severity 0 is an error, 1 a warning, 2 information (such as "not the latest version").
    const problems = diagnostics.filter((d) => d.severity <= 2);
    expect(problems.map((d) => `${d.code} ${d.path.join(".")}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(
      document!
        .channels()
        .all()
        .map((c) => c.address()),
    ).toEqual(["/v1/machines/{mid}/events", "/v1/events"]);
    expect(document!.operations().all().length).toBe(4);
  });

  it("documents every event type and control item", () => {
    const doc = parse(committed) as {
      components: { schemas: Record<string, { oneOf?: { $ref: string }[] }> };
    };
    const schemas = doc.components.schemas;
    for (const t of EVENT_TYPES) expect(schemas).toHaveProperty([`Event_${t}`]);
    const items = schemas.ServerItem!.oneOf!.map((r) => r.$ref.split("/").pop());
    expect(items).toEqual([
      ...EVENT_TYPES.map((t) => `Event_${t}`),
      "Gap",
      "Subscribed",
      "Unsubscribed",
      "Pong",
      "ErrorItem",
    ]);
  });
});

describe("README", () => {
  it("lists every event type in its catalogue", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Event streams"));
    for (const t of EVENT_TYPES) expect(section).toContain(`\`${t}\``);
  });
});
