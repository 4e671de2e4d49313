/**
 * The service's configuration: the environment, validated once at start. Every setting has an
 * embedded default, so `npm start` runs with no environment at all. Only server.ts reads process.env;
 * it hands the variables here.
 */
import { z } from "zod";

export interface Limits {
  /** Largest request body, bytes (413 above). */
  bodyBytes: number;
  /** Machines alive at once (429 above). */
  machines: number;
  /** Tasks (zombies included) per machine: spawn, fork, vfork and clone are refused with 429 above. */
  tasksPerMachine: number;
  /** The highest vm.max_map_count a machine may have (VMAs per mm; the core returns ENOMEM past it). */
  maxMapCount: number;
  /** Simulated RAM of one machine, bytes. */
  machineRamBytes: number;
  /** Simulated RAM of all machines together, bytes. */
  totalRamBytes: number;
  /** Calls in one /batch request (413 above). */
  batchCalls: number;
}

/** Event streams (src/events): replay, per-connection bounds, heartbeats. */
export interface EventsConfig {
  /** Events each machine keeps for clients that resume with `since`. */
  ringSize: number;
  /** A connection's queue bounds (events, bytes): past either, events are dropped and a gap reported. */
  queueEvents: number;
  queueBytes: number;
  /** Send while the socket's unsent bytes are below this; queue above it. */
  highWaterBytes: number;
  /** Close (code 4008) a connection that has been dropping events for this long (0: never). */
  slowCloseMs: number;
  /** Ping every connection this often and cut those that did not answer the last ping (0: never). */
  heartbeatMs: number;
  /** Event stream connections at once (429 above). */
  maxSubscribers: number;
}

export interface Config {
  port: number;
  host: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** When set, every route but /healthz needs `Authorization: Bearer <token>`. */
  apiToken: string | null;
  /** Log one line per request (off by default: it costs about a third of the throughput). */
  logRequests: boolean;
  limits: Limits;
  events: EventsConfig;
}

const GiB = 2 ** 30;

export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  port: 3000,
  host: "127.0.0.1",
  logLevel: "info",
  apiToken: null,
  logRequests: false,
  limits: Object.freeze({
    bodyBytes: 8 * 2 ** 20,
    machines: 64,
    tasksPerMachine: 4096,
    maxMapCount: 65530,
    machineRamBytes: 64 * GiB,
    totalRamBytes: 1024 * GiB,
    batchCalls: 100_000,
  }),
  events: Object.freeze({
    ringSize: 10_000,
    queueEvents: 10_000,
    queueBytes: 4 * 2 ** 20,
    highWaterBytes: 256 * 2 ** 10,
    slowCloseMs: 30_000,
    heartbeatMs: 30_000,
    maxSubscribers: 1000,
  }),
});

/** One environment variable per setting. */
export const ENV_VARS = {
  PORT: "TCP port to listen on",
  HOST: "address to listen on (0.0.0.0 in the container)",
  LOG_LEVEL: "pino level: fatal, error, warn, info, debug, trace, silent",
  API_TOKEN: "when set, every route but /healthz needs Authorization: Bearer <token>",
  LOG_REQUESTS: "true: one log line per request",
  BODY_LIMIT: "largest request body (bytes; K/M/G and KiB/MiB/GiB suffixes allowed)",
  MAX_MACHINES: "machines alive at once",
  MAX_TASKS_PER_MACHINE: "tasks per machine, zombies included",
  MAX_MAP_COUNT: "highest vm.max_map_count (VMAs per mm) a machine may have",
  MACHINE_RAM_MAX: "simulated RAM of one machine (bytes, suffixes allowed)",
  TOTAL_RAM_MAX: "simulated RAM of all machines together (bytes, suffixes allowed)",
  BATCH_MAX_CALLS: "calls in one /batch request",
  EVENTS_RING: "events each machine keeps for streams that resume with since",
  EVENTS_QUEUE_EVENTS: "events queued for one slow stream before it drops (and reports a gap)",
  EVENTS_QUEUE_BYTES: "bytes queued for one slow stream before it drops (suffixes allowed)",
  EVENTS_HIGH_WATER: "a stream's unsent socket bytes above which events queue (suffixes allowed)",
  EVENTS_SLOW_CLOSE_MS: "close (4008) a stream that has been dropping for this long; 0: never",
  EVENTS_HEARTBEAT_MS: "ping streams this often, cutting those that did not answer; 0: never",
  EVENTS_MAX_SUBSCRIBERS: "event stream connections at once",
} as const;

const UNITS: Record<string, number> = {
  "": 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
};

const size = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const m = /^([0-9]+)\s*([a-zA-Z]*)$/.exec(s);
    const unit = m ? UNITS[m[2]!.toUpperCase()] : undefined;
    const n = m && unit !== undefined ? Number(m[1]) * unit : Number.NaN;
    if (!Number.isSafeInteger(n) || n <= 0) {
      ctx.addIssue({
        code: "custom",
        message: `expected a positive size in bytes like 1048576, 64MiB or 8G, got "${s}"`,
      });
      return z.NEVER;
    }
    return n;
  });

const count = (max: number) =>
  z
    .string()
    .trim()
    .regex(/^[0-9]+$/, "expected a positive integer")
    .transform(Number)
    .pipe(z.number().int().min(1).max(max));

const millis = z
  .string()
  .trim()
  .regex(/^[0-9]+$/, "expected milliseconds (0 or a positive integer)")
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1),
  );

const EnvSchema = z.object({
  PORT: z
    .string()
    .trim()
    .regex(/^[0-9]+$/, "expected a port number")
    .transform(Number)
    .pipe(z.number().int().min(0).max(65535))
    .optional(),
  HOST: z.string().trim().min(1).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  API_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  LOG_REQUESTS: z.enum(["true", "false", "1", "0"]).optional(),
  BODY_LIMIT: size.optional(),
  MAX_MACHINES: count(100_000).optional(),
  MAX_TASKS_PER_MACHINE: count(1_000_000).optional(),
  MAX_MAP_COUNT: count(2 ** 31 - 1).optional(),
  MACHINE_RAM_MAX: size.optional(),
  TOTAL_RAM_MAX: size.optional(),
  BATCH_MAX_CALLS: count(10_000_000).optional(),
  EVENTS_RING: count(10_000_000).optional(),
  EVENTS_QUEUE_EVENTS: count(10_000_000).optional(),
  EVENTS_QUEUE_BYTES: size.optional(),
  EVENTS_HIGH_WATER: size.optional(),
  EVENTS_SLOW_CLOSE_MS: millis.optional(),
  EVENTS_HEARTBEAT_MS: millis.optional(),
  EVENTS_MAX_SUBSCRIBERS: count(1_000_000).optional(),
});

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Build the configuration from environment variables (unset or empty = default). Throws a
 * ConfigError listing every invalid variable.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = {}): Config {
  const picked: Record<string, string> = {};
  for (const k of Object.keys(ENV_VARS)) {
    const v = env[k];
    if (v !== undefined && v !== "") picked[k] = v;
  }
  const r = EnvSchema.safeParse(picked);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const e = r.data;
  const d = DEFAULT_CONFIG;
  const config: Config = {
    port: e.PORT ?? d.port,
    host: e.HOST ?? d.host,
    logLevel: e.LOG_LEVEL ?? d.logLevel,
    apiToken: e.API_TOKEN ?? null,
    logRequests: e.LOG_REQUESTS === "true" || e.LOG_REQUESTS === "1",
    limits: {
      bodyBytes: e.BODY_LIMIT ?? d.limits.bodyBytes,
      machines: e.MAX_MACHINES ?? d.limits.machines,
      tasksPerMachine: e.MAX_TASKS_PER_MACHINE ?? d.limits.tasksPerMachine,
      maxMapCount: e.MAX_MAP_COUNT ?? d.limits.maxMapCount,
      machineRamBytes: e.MACHINE_RAM_MAX ?? d.limits.machineRamBytes,
      totalRamBytes: e.TOTAL_RAM_MAX ?? d.limits.totalRamBytes,
      batchCalls: e.BATCH_MAX_CALLS ?? d.limits.batchCalls,
    },
    events: {
      ringSize: e.EVENTS_RING ?? d.events.ringSize,
      queueEvents: e.EVENTS_QUEUE_EVENTS ?? d.events.queueEvents,
      queueBytes: e.EVENTS_QUEUE_BYTES ?? d.events.queueBytes,
      highWaterBytes: e.EVENTS_HIGH_WATER ?? d.events.highWaterBytes,
      slowCloseMs: e.EVENTS_SLOW_CLOSE_MS ?? d.events.slowCloseMs,
      heartbeatMs: e.EVENTS_HEARTBEAT_MS ?? d.events.heartbeatMs,
      maxSubscribers: e.EVENTS_MAX_SUBSCRIBERS ?? d.events.maxSubscribers,
    },
  };
  if (config.limits.machineRamBytes > config.limits.totalRamBytes)
    throw new ConfigError(
      `invalid configuration:\n  MACHINE_RAM_MAX (${config.limits.machineRamBytes}) exceeds TOTAL_RAM_MAX (${config.limits.totalRamBytes})`,
    );
  return config;
}

/** A configuration for tests and tools: the defaults with some settings replaced. */
export function makeConfig(
  over: Partial<Omit<Config, "limits" | "events">> & {
    limits?: Partial<Limits>;
    events?: Partial<EventsConfig>;
  } = {},
): Config {
  return {
    ...DEFAULT_CONFIG,
    ...over,
    limits: { ...DEFAULT_CONFIG.limits, ...over.limits },
    events: { ...DEFAULT_CONFIG.events, ...over.events },
  };
}
