/**
 * Content negotiation for /proc-style views: text/plain (the kernel's bytes) by default, JSON when
 * the client asks for application/json and not for text/plain first.
 */
import type { FastifyRequest } from "fastify";

export function wantsJson(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  const json = accept.indexOf("application/json");
  if (json < 0) return false;
  const text = accept.indexOf("text/plain");
  return text < 0 || json < text;
}

/** Serialize without the response-schema check (for large views and the hot call routes). */
export const plainJson = () => (data: unknown) => JSON.stringify(data);
