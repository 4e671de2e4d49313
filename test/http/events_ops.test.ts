/**
 * The event streams as an operator sees them: refusals before the upgrade (auth, unknown machine,
 * bad query, connection limit, plain GET), the subscribers gauge, and shutdown closing streams with
 * 1001, a stalled one included.
 */
import { get } from "node:http";
import { describe, expect, it } from "vitest";
import { EventClient, streamsOf } from "./events_client.js";
import { type Server, spawn, startServer } from "./helpers.js";

let s: Server;
const { open } = streamsOf(() => s);

describe("before the upgrade", () => {
  it("the auth token applies as on HTTP", async () => {
    const token = "t0ps3cret-t0ps3cret";
    s = await startServer({ apiToken: token });
    for (const path of ["/v1/machines/default/events", "/v1/events"]) {
      expect(await EventClient.refused(s, path)).toMatchObject({ status: 401, body: { code: "NO_TOKEN" } });
      expect(await EventClient.refused(s, path, { authorization: "Bearer nope" })).toMatchObject({
        status: 401,
        body: { code: "BAD_TOKEN" },
      });
      const c = await open(path, { authorization: `Bearer ${token}` });
      expect(c.items[0]).toMatchObject({ type: "subscribed" });
    }
  });

  it("a browser, which cannot set headers, passes the token as a subprotocol beside mmsim", async () => {
    const token = "t0ps3cret/t0ps3cret+=";
    s = await startServer({ apiToken: token });
    const b64 = (t: string) => Buffer.from(t).toString("base64url");
    const path = "/v1/machines/default/events";
    const c = await EventClient.open(s, path, {}, ["mmsim", `mmsim.bearer.${b64(token)}`]);
    // The server selects mmsim: the token is not echoed back.
    expect(c.ws.protocol).toBe("mmsim");
    expect(c.items[0]).toMatchObject({ type: "subscribed" });
    c.ws.close();
    expect(await EventClient.refused(s, path, {}, ["mmsim", `mmsim.bearer.${b64("nope")}`])).toMatchObject({
      status: 401,
      body: { code: "BAD_TOKEN" },
    });
    expect(await EventClient.refused(s, path, {}, ["mmsim"])).toMatchObject({
      status: 401,
      body: { code: "NO_TOKEN" },
    });
    // Only a real upgrade of an event stream may carry it: plain requests with the same headers
    // (even Upgrade: websocket without Connection: upgrade) are refused.
    const protocol = { "sec-websocket-protocol": `mmsim, mmsim.bearer.${b64(token)}` };
    for (const [url, headers] of [
      ["/v1/machines", protocol],
      ["/v1/machines", { ...protocol, upgrade: "websocket" }],
      [path, { ...protocol, upgrade: "websocket" }],
    ] as const) {
      // node:http, since fetch refuses an Upgrade header.
      const status = await new Promise<number>((resolve, reject) => {
        const req = get(`${s.url}${url}`, { headers }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on("error", reject);
      });
      expect(status, `${url} ${JSON.stringify(headers)}`).toBe(401);
    }
    // Nor may a real upgrade of another route.
    expect(
      await EventClient.refused(s, "/v1/machines", {}, ["mmsim", `mmsim.bearer.${b64(token)}`]),
    ).toMatchObject({
      status: 401,
    });
  });

  it("refuses an unknown machine (404), a bad query (400), too many streams (429), draining (503), a plain GET (426)", async () => {
    s = await startServer({ events: { maxSubscribers: 2 } });
    expect(await EventClient.refused(s, "/v1/machines/nope/events")).toMatchObject({
      status: 404,
      body: { code: "MACHINE_NOT_FOUND" },
    });
    expect(await EventClient.refused(s, "/v1/machines/default/events?types=fault,bogus")).toMatchObject({
      status: 400,
      body: { code: "FST_ERR_VALIDATION" },
    });
    expect(await EventClient.refused(s, "/v1/machines/default/events?since=-1")).toMatchObject({
      status: 400,
    });
    expect(await EventClient.refused(s, "/v1/events?since=5")).toMatchObject({ status: 400 });
    expect(await EventClient.refused(s, "/v1/machines/default/events?colour=red")).toMatchObject({
      status: 400,
    });
    await open();
    await open("/v1/events");
    expect(await EventClient.refused(s, "/v1/events")).toMatchObject({
      status: 429,
      body: { code: "LIMIT_SUBSCRIBERS" },
    });
    s.app.draining = true; // as server.ts sets it at SIGTERM
    expect(await EventClient.refused(s, "/v1/events")).toMatchObject({
      status: 503,
      body: { code: "SHUTTING_DOWN" },
    });
    s.app.draining = false;
    const plain = await s.http.get("/v1/machines/default/events");
    expect(plain.status).toBe(426);
    expect(plain.body).toMatchObject({ code: "WEBSOCKET_ONLY" });
  });
});

describe("an upgrade of a route that is not an event stream", () => {
  it("is answered over HTTP, and its socket closed", async () => {
    s = await startServer();
    // A WebSocket client: the server answers as for a plain request (it may ignore Upgrade).
    expect(await EventClient.refused(s, "/v1/machines/nope")).toMatchObject({
      status: 404,
      body: { code: "MACHINE_NOT_FOUND" },
    });
    // node:http: the reply, then the server closes the connection (HTTP gave the socket up).
    const closed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = get(
        `${s.url}/v1/machines`,
        {
          headers: {
            connection: "upgrade",
            upgrade: "websocket",
            "sec-websocket-version": "13",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.socket.on("close", () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on("upgrade", () => reject(new Error("upgraded")));
      req.on("error", reject);
    });
    expect(closed.status).toBe(200);
    expect(JSON.parse(closed.body)).toMatchObject({ machines: expect.any(Array) });
  });
});

describe("metrics", () => {
  it("count subscribers and events", async () => {
    s = await startServer();
    const a = await open();
    await open("/v1/events");
    await spawn(s, { image: "empty" });
    await a.until((c) => c.events.length === 1);
    const m = (await s.http.get("/metrics")).text;
    expect(m).toMatch(/^mmsim_event_subscribers 2$/m);
    expect(m).toMatch(/^mmsim_events_total 1$/m);
    expect(m).toMatch(/^mmsim_events_delivered_total 2$/m);
    a.close();
    await a.closed;
    await a.until(() => s.app.events.subscriberCount === 1, "the server to see the close");
    const m2 = (await s.http.get("/metrics")).text;
    expect(m2).toMatch(/^mmsim_event_subscribers 1$/m);
    expect(m2).toMatch(/^mmsim_event_disconnects_total\{reason="client"\} 1$/m);
  });
});

describe("shutdown", () => {
  it("closes every stream with 1001 and does not wait on a stalled one", async () => {
    s = await startServer({ events: { highWaterBytes: 16 * 1024, queueBytes: 64 * 1024 } });
    const pid = await spawn(s, { image: "empty" });
    const live = await open();
    const all = await open("/v1/events");
    const stalled = await open();
    stalled.stall();
    // Enough to back the stalled one up past the kernel's buffers.
    for (let i = 0; i < 200 && !s.app.events.subscribers()[2]!.backlog.dropping; i++) {
      const calls = [];
      for (let k = 0; k < 4; k++) {
        calls.push({
          pid,
          call: "mmap",
          args: {
            addr: "0x100000000000",
            length: 256 * 4096,
            prot: "PROT_READ|PROT_WRITE",
            flags: "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED",
          },
        });
        calls.push({
          pid,
          call: "memory/write",
          args: { addr: "0x100000000000", length: 256 * 4096, fill: 1 },
        });
      }
      await s.http.post("/v1/machines/default/batch").send({ calls }).expect(200);
    }
    expect(s.app.events.subscribers()[2]!.backlog.dropping).toBe(true);
    const last = s.app.events.lastSeq("default");
    await s.app.close();
    const shutdown = { code: 1001, reason: "server shutting down" };
    expect(await live.closed).toEqual(shutdown);
    expect(await all.closed).toEqual(shutdown);
    // Everything up to the shutdown reached the live streams before the close frame.
    expect(live.events.at(-1)!.seq).toBe(last);
    expect(s.app.events.subscriberCount).toBe(0);
    expect(s.app.events.stats.closed.shutdown).toBe(3);
    stalled.resume();
    expect([1001, 1006]).toContain((await stalled.closed).code);
  });
});
