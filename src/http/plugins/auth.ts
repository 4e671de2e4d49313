/**
 * Bearer-token authentication: when API_TOKEN is set, every route but /healthz needs
 * `Authorization: Bearer <token>` (compared in constant time). Without a token nothing is checked.
 *
 * A browser's WebSocket cannot set headers, so a WebSocket upgrade may carry the token as a
 * subprotocol instead: `mmsim.bearer.<base64url(token)>` offered beside `mmsim` (the one the server
 * selects, so the token is never echoed back), as Kubernetes does for its streams.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { ApiError } from "../errors.js";
import { isUpgrade } from "../upgrade.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** The subprotocol an event stream selects when the client offers it. */
export const STREAM_PROTOCOL = "mmsim";
/** The subprotocol prefix that carries a WebSocket upgrade's token (base64url, no padding). */
export const BEARER_PROTOCOL_PREFIX = "mmsim.bearer.";

/**
 * The Authorization value a WebSocket upgrade's bearer subprotocol stands for, if it has one. Only
 * a real upgrade (Connection: upgrade, which Node needs to treat it as one; a GET of an event
 * stream) may carry it:
 * an ordinary request with the same headers must not reach the REST routes with the token in a
 * header that proxies and logs do not redact.
 */
function protocolAuthorization(req: FastifyRequest): string | undefined {
  const headers = req.headers;
  if (!isUpgrade(headers) || req.method !== "GET" || !/\/events(\?|$)/.test(req.url)) return undefined;
  if (headers.upgrade?.toLowerCase() !== "websocket") return undefined;
  const offered = headers["sec-websocket-protocol"];
  if (typeof offered !== "string") return undefined;
  for (const p of offered.split(",")) {
    const v = p.trim();
    if (v.startsWith(BEARER_PROTOCOL_PREFIX))
      return `Bearer ${Buffer.from(v.slice(BEARER_PROTOCOL_PREFIX.length), "base64url").toString("utf8")}`;
  }
  return undefined;
}

async function authPlugin(app: FastifyInstance, opts: { token: string | null }): Promise<void> {
  if (!opts.token) return;
  const want = digest(`Bearer ${opts.token}`);
  app.addHook("onRequest", async (req, reply) => {
    if (req.url === "/healthz") return;
    const got = req.headers.authorization ?? protocolAuthorization(req);
    if (typeof got === "string" && timingSafeEqual(digest(got), want)) return;
    reply.header("www-authenticate", 'Bearer realm="mmsim"');
    throw new ApiError(
      401,
      got ? "BAD_TOKEN" : "NO_TOKEN",
      got
        ? "wrong bearer token"
        : "this server needs Authorization: Bearer <API_TOKEN> (event streams: or the subprotocol mmsim.bearer.<base64url token>)",
    );
  });
}

export default fp(authPlugin, { name: "auth" });
