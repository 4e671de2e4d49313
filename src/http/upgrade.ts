/**
 * Whether a request asks to switch protocols (Upgrade plus Connection: upgrade, which Node needs
 * to hand the socket over): such a socket is no longer HTTP's once the reply is sent.
 */
import type { IncomingHttpHeaders } from "node:http";

export function isUpgrade(headers: IncomingHttpHeaders): boolean {
  return headers.upgrade !== undefined && /\bupgrade\b/i.test(headers.connection ?? "");
}
