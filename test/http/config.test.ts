import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, loadConfig } from "../../src/config.js";

describe("configuration from the environment", () => {
  it("embedded defaults when nothing is set (empty values count as unset)", () => {
    expect(loadConfig({})).toEqual(DEFAULT_CONFIG);
    expect(loadConfig({ PORT: "", HOST: "" })).toEqual(DEFAULT_CONFIG);
  });

  it("reads every variable, sizes with units", () => {
    const c = loadConfig({
      PORT: "8080",
      HOST: "0.0.0.0",
      LOG_LEVEL: "debug",
      API_TOKEN: "0123456789abcdef",
      LOG_REQUESTS: "true",
      BODY_LIMIT: "1MiB",
      MAX_MACHINES: "5",
      MAX_TASKS_PER_MACHINE: "10",
      MAX_MAP_COUNT: "1000",
      MACHINE_RAM_MAX: "4G",
      TOTAL_RAM_MAX: "16GiB",
      BATCH_MAX_CALLS: "50",
    });
    expect(c).toEqual({
      port: 8080,
      host: "0.0.0.0",
      logLevel: "debug",
      apiToken: "0123456789abcdef",
      logRequests: true,
      limits: {
        bodyBytes: 2 ** 20,
        machines: 5,
        tasksPerMachine: 10,
        maxMapCount: 1000,
        machineRamBytes: 4e9,
        totalRamBytes: 16 * 2 ** 30,
        batchCalls: 50,
      },
      // Not set here: the event-stream settings keep their defaults (config.test of events covers them).
      events: DEFAULT_CONFIG.events,
    });
  });

  it("refuses invalid values, naming every bad variable", () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: "99999",
        LOG_LEVEL: "loud",
        BODY_LIMIT: "lots",
        API_TOKEN: "short",
        MAX_MACHINES: "0",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const v of ["PORT", "LOG_LEVEL", "BODY_LIMIT", "API_TOKEN", "MAX_MACHINES"])
      expect(msg).toContain(`  ${v}: `);
    expect(msg).toContain('got "lots"');
    expect(() => loadConfig({ MACHINE_RAM_MAX: "8G", TOTAL_RAM_MAX: "4G" })).toThrow(/exceeds TOTAL_RAM_MAX/);
  });
});
