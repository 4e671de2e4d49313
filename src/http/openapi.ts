/**
 * The OpenAPI document as served (/openapi.json, /openapi.yaml) and committed (openapi.yaml):
 * @fastify/swagger's output with one correction: it marks every request body required, but a
 * body whose schema requires no property may be left out (POST …/fork with no body is {}).
 */
import type { FastifyInstance } from "fastify";
import { stringify } from "yaml";

type Json = Record<string, unknown>;

export function openapiDocument(app: FastifyInstance): Json {
  const doc = structuredClone(app.swagger()) as unknown as Json;
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  const resolve = (s: Json | undefined): Json | undefined => {
    const ref = s?.$ref;
    return typeof ref === "string" ? resolve(schemas[ref.split("/").pop()!]) : s;
  };
  for (const item of Object.values((doc.paths ?? {}) as Record<string, Record<string, Json>>)) {
    for (const op of Object.values(item)) {
      const body = op.requestBody as
        | { required?: boolean; content?: Record<string, { schema?: Json }> }
        | undefined;
      const schema = resolve(body?.content?.["application/json"]?.schema);
      if (body && schema && schema.type === "object" && !(schema.required as unknown[] | undefined)?.length)
        body.required = false;
    }
  }
  return doc;
}

export function openapiYaml(app: FastifyInstance): string {
  return stringify(openapiDocument(app), { aliasDuplicateObjects: false, lineWidth: 0 });
}
