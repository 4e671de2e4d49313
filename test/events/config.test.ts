/**
 * The event streams' settings: environment variables with defaults, sizes with units, 0 for "never".
 */
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, loadConfig } from "../../src/config.js";

describe("EVENTS_* settings", () => {
  it("default when unset", () => {
    expect(loadConfig({}).events).toEqual(DEFAULT_CONFIG.events);
  });

  it("read sizes with units and 0 as never", () => {
    const c = loadConfig({
      EVENTS_RING: "500",
      EVENTS_QUEUE_EVENTS: "2000",
      EVENTS_QUEUE_BYTES: "1MiB",
      EVENTS_HIGH_WATER: "64K",
      EVENTS_SLOW_CLOSE_MS: "0",
      EVENTS_HEARTBEAT_MS: "0",
      EVENTS_MAX_SUBSCRIBERS: "10",
    });
    expect(c.events).toEqual({
      ringSize: 500,
      queueEvents: 2000,
      queueBytes: 2 ** 20,
      highWaterBytes: 64_000,
      slowCloseMs: 0,
      heartbeatMs: 0,
      maxSubscribers: 10,
    });
  });

  it("refuse nonsense, naming the variable", () => {
    for (const [k, v] of [
      ["EVENTS_RING", "0"],
      ["EVENTS_QUEUE_BYTES", "lots"],
      ["EVENTS_HEARTBEAT_MS", "-5"],
      ["EVENTS_MAX_SUBSCRIBERS", "1.5"],
    ] as const) {
      expect(() => loadConfig({ [k]: v })).toThrow(ConfigError);
      expect(() => loadConfig({ [k]: v })).toThrow(k);
    }
  });
});
