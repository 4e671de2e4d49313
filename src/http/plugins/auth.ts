/**
 * Bearer-token authentication: when API_TOKEN is set, every route but /healthz needs
 * `Authorization: Bearer <token>` (compared in constant time). Without a token nothing is checked.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { ApiError } from "../errors.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

async function authPlugin(app: FastifyInstance, opts: { token: string | null }): Promise<void> {
  if (!opts.token) return;
  const want = digest(`Bearer ${opts.token}`);
  app.addHook("onRequest", async (req, reply) => {
    if (req.url === "/healthz") return;
    const got = req.headers.authorization;
    if (typeof got === "string" && timingSafeEqual(digest(got), want)) return;
    reply.header("www-authenticate", 'Bearer realm="mmsim"');
    throw new ApiError(
      401,
      got ? "BAD_TOKEN" : "NO_TOKEN",
      got ? "wrong bearer token" : "this server needs Authorization: Bearer <API_TOKEN>",
    );
  });
}

export default fp(authPlugin, { name: "auth" });
