/**
 * Operations: liveness (/healthz, never authenticated), readiness (/readyz: 503 while draining at
 * shutdown), Prometheus metrics, and the OpenAPI document as JSON and YAML.
 */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { openapiDocument, openapiYaml } from "../../openapi.js";
import { Health, Ready } from "./schemas.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Set when shutdown begins: /readyz turns 503 so balancers stop sending work. */
    draining: boolean;
  }
}

export default async function opsRoutes(base: FastifyInstance): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.get(
    "/healthz",
    { schema: { tags: ["ops"], summary: "Liveness", response: { 200: Health } } },
    async () => ({ status: "ok" as const }),
  );
  app.get(
    "/readyz",
    {
      schema: {
        tags: ["ops"],
        summary: "Readiness (503 while shutting down)",
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_req, reply) => {
      const body = {
        status: app.draining ? ("draining" as const) : ("ready" as const),
        machines: app.machines.size,
      };
      return reply.code(app.draining ? 503 : 200).send(body);
    },
  );
  app.get(
    "/metrics",
    {
      schema: {
        tags: ["ops"],
        summary: "Prometheus metrics",
        response: { 200: { content: { "text/plain": { schema: z.string() } } } },
      },
    },
    async (_req, reply) => {
      const text = await app.metrics.registry.metrics();
      return reply.type(app.metrics.registry.contentType).send(text);
    },
  );
  app.get("/openapi.json", { schema: { hide: true } }, async (_req, reply) =>
    reply.type("application/json").send(JSON.stringify(openapiDocument(app), null, 2)),
  );
  app.get("/openapi.yaml", { schema: { hide: true } }, async (_req, reply) =>
    reply.type("application/yaml").send(openapiYaml(app)),
  );
}
