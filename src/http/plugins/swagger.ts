/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas (@fastify/swagger through the
 * zod type provider's transforms), and Swagger UI at /docs. The committed openapi.yaml is this
 * document (`npm run openapi`); a test fails when they differ.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";

export const API_VERSION = "0.2.0";

async function swaggerPlugin(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "mmsim",
        version: API_VERSION,
        description:
          "A simulator of Linux process memory (Linux 6.x, x86_64) as a service: machines, tasks, every address-space syscall, loads and stores with their faults and signals, and the /proc views. A failed syscall is HTTP 200 with its errno; HTTP errors mean the call could not be executed.",
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "Needed when the server has API_TOKEN set" },
        },
      },
      security: [{}, { bearer: [] }],
      tags: [
        { name: "machines", description: "Simulated hosts" },
        { name: "files", description: "A machine's files" },
        { name: "tasks", description: "Processes and threads" },
        { name: "calls", description: "System calls of a task" },
        { name: "memory", description: "Loads, stores and instruction fetches of a task" },
        { name: "proc", description: "/proc/PID views" },
        { name: "batch", description: "Many calls in one request" },
        { name: "ops", description: "Health, readiness, metrics" },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
}

export default fp(swaggerPlugin, { name: "swagger" });
