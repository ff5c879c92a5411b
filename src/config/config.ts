import { readFileSync } from "node:fs";
import type { ProviderInput } from "../admin/provider-admin.ts";
import type { PriceInput } from "../billing/pricing.ts";
import type { CircuitOptions } from "../routing/deployment-health.ts";
import type { RoutingOptions } from "../routing/failover.ts";
import { BALANCING_STRATEGIES, type BalancingStrategy, type ModelRouteInput } from "../routing/model-route.ts";
import type { LogLevel } from "../log/logger.ts";
import { builtinProviders } from "../providers/provider-registry.ts";
import type { ImageFetchLimits } from "../upstream/image-fetcher.ts";
import type { UpstreamTimeouts } from "../upstream/upstream-client.ts";

/** Everything the gateway reads from its environment and config file, checked. */
export interface GatewayConfig {
  readonly port: number;
  /** Interface to bind; undefined means all. */
  readonly host: string | undefined;
  /** The admin key; undefined means "make one at start". */
  readonly adminKey: string | undefined;
  readonly dbPath: string;
  readonly maxBodyBytes: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly upstream: UpstreamTimeouts;
  /** Most connections to one upstream origin. */
  readonly upstreamMaxConnections: number;
  /** `max_tokens` sent where a protocol requires one (Anthropic) and the caller gave none. */
  readonly defaultMaxTokens: number;
  /** Fetching of http(s) image URLs for providers that take only inline images. */
  readonly imageFetch: ImageFetchLimits;
  /** Providers declared by the environment and the config file, applied at every start. */
  readonly providers: readonly ProviderInput[];
  /** Model prices declared by the config file, applied at every start. */
  readonly prices: readonly PriceInput[];
  /** Model routes (deployments, strategy, fallbacks) declared by the config file, applied at every start. */
  readonly models: readonly ModelRouteInput[];
  /** Retries, failover, balancing and stream deadlines. */
  readonly routing: RoutingOptions;
  /** When a failing deployment is taken out. */
  readonly circuit: CircuitOptions;
  /** Interval of active health probes (a model listing per provider); 0 turns them off. */
  readonly probeIntervalMs: number;
}

/** Every problem found in the configuration, reported at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n- ${problems.join("\n- ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const LEVELS = new Set(["debug", "info", "warn", "error"]);

function integer(env: Env, key: string, fallback: number, min: number, problems: string[]): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    problems.push(`${key} must be an integer of at least ${min}, got "${raw}"`);
    return fallback;
  }
  return n;
}

function strategy(env: Env, problems: string[]): BalancingStrategy {
  const raw = env.GATEWAY_ROUTING_STRATEGY;
  if (raw === undefined || raw === "") return "weighted";
  if ((BALANCING_STRATEGIES as readonly string[]).includes(raw)) return raw as BalancingStrategy;
  problems.push(`GATEWAY_ROUTING_STRATEGY must be one of ${BALANCING_STRATEGIES.join(", ")}, got "${raw}"`);
  return "weighted";
}

function configPath(env: Env, argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--config") return argv[i + 1];
    if (a.startsWith("--config=")) return a.slice("--config=".length);
  }
  return env.GATEWAY_CONFIG || undefined;
}

/** Replaces `${NAME}` in every string of a JSON value with the variable's value. */
function substitute(value: unknown, env: Env, where: string, problems: string[]): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) problems.push(`${where} refers to \${${name}}, which is not set`);
      return v ?? "";
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, `${where}[${i}]`, problems));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env, `${where}.${k}`, problems)]));
  }
  return value;
}

interface ConfigFile {
  providers: ProviderInput[];
  prices: PriceInput[];
  models: ModelRouteInput[];
}

const FILE_KEYS = new Set(["providers", "prices", "models"]);

function objects(json: Record<string, unknown>, key: string, path: string, problems: string[]): unknown[] {
  const list = json[key] ?? [];
  if (Array.isArray(list)) return list;
  problems.push(`config file ${path}: "${key}" must be an array`);
  return [];
}

function readConfigFile(path: string, env: Env, read: (p: string) => string, problems: string[]): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(read(path));
  } catch (err) {
    problems.push(`config file ${path}: ${(err as Error).message}`);
    return { providers: [], prices: [], models: [] };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    problems.push(`config file ${path}: must be a JSON object with "providers", "models" and "prices" arrays`);
    return { providers: [], prices: [], models: [] };
  }
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!FILE_KEYS.has(key)) problems.push(`config file ${path}: unknown key "${key}"`);
  const models = objects(obj, "models", path, problems).map((m: unknown, i) => {
    const where = `models[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      problems.push(`${where}: must be an object`);
      return {};
    }
    const input = substitute(m, env, where, problems) as ModelRouteInput;
    if (typeof input.name !== "string" || input.name === "") problems.push(`${where}.name: is required`);
    return input;
  });
  const prices = objects(obj, "prices", path, problems).map((p: unknown, i) => {
    if (typeof p !== "object" || p === null || Array.isArray(p)) problems.push(`prices[${i}]: must be an object`);
    return (substitute(p, env, `prices[${i}]`, problems) ?? {}) as PriceInput;
  });
  const providers = objects(obj, "providers", path, problems).map((p: unknown, i) => {
    const where = `providers[${i}]`;
    if (typeof p !== "object" || p === null || Array.isArray(p)) {
      problems.push(`${where}: must be an object`);
      return {};
    }
    const input = substitute(p, env, where, problems) as ProviderInput;
    if (typeof input.name !== "string" || input.name === "") problems.push(`${where}.name: is required in the config file`);
    if (typeof input.base_url !== "string") problems.push(`${where}.base_url: is required`);
    return input;
  });
  return { providers, prices, models };
}

/**
 * Reads the gateway's configuration from environment variables, the command
 * line (`--config FILE`) and the optional JSON config file. The only place
 * that reads `process.env`-like input.
 * @throws ConfigError listing every problem found.
 */
export function loadConfig(env: Env, argv: readonly string[] = [], read: (p: string) => string = (p) => readFileSync(p, "utf8")): GatewayConfig {
  const problems: string[] = [];
  const providers: ProviderInput[] = [];
  for (const b of builtinProviders) {
    const key = env[`${b.env}_API_KEY`];
    const base = env[`${b.env}_BASE_URL`];
    if (!key && !base) continue;
    providers.push({ name: b.name, type: b.type, base_url: base || b.defaultBaseUrl, api_key: key ?? "" });
  }
  const file = configPath(env, argv);
  const fromFile = file === undefined ? { providers: [], prices: [], models: [] } : readConfigFile(file, env, read, problems);
  {
    for (const p of fromFile.providers) {
      const i = providers.findIndex((q) => q.name === p.name);
      if (i >= 0) providers.splice(i, 1, p);
      else providers.push(p);
    }
  }
  const logLevel = env.LOG_LEVEL ?? "info";
  if (!LEVELS.has(logLevel)) problems.push(`LOG_LEVEL must be one of ${[...LEVELS].join(", ")}, got "${logLevel}"`);
  const adminKey = env.GATEWAY_ADMIN_KEY;
  if (adminKey !== undefined && adminKey !== "" && adminKey.length < 16) problems.push("GATEWAY_ADMIN_KEY must be at least 16 characters");
  const config: GatewayConfig = {
    port: integer(env, "PORT", 8080, 0, problems),
    host: env.HOST || undefined,
    adminKey: adminKey || undefined,
    dbPath: env.GATEWAY_DB_PATH || "./data/gateway.db",
    maxBodyBytes: integer(env, "GATEWAY_MAX_BODY_BYTES", 16 * 1024 * 1024, 1024, problems),
    shutdownTimeoutMs: integer(env, "GATEWAY_SHUTDOWN_TIMEOUT_MS", 30_000, 0, problems),
    logLevel: logLevel as LogLevel,
    upstream: {
      connectMs: integer(env, "GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS", 10_000, 1, problems),
      firstByteMs: integer(env, "GATEWAY_UPSTREAM_FIRST_BYTE_TIMEOUT_MS", 120_000, 1, problems),
      idleMs: integer(env, "GATEWAY_UPSTREAM_IDLE_TIMEOUT_MS", 120_000, 1, problems),
      totalMs: integer(env, "GATEWAY_UPSTREAM_TOTAL_TIMEOUT_MS", 600_000, 1, problems),
    },
    upstreamMaxConnections: integer(env, "GATEWAY_UPSTREAM_MAX_CONNECTIONS", 4096, 1, problems),
    defaultMaxTokens: integer(env, "GATEWAY_DEFAULT_MAX_TOKENS", 4096, 1, problems),
    imageFetch: {
      maxBytes: integer(env, "GATEWAY_IMAGE_FETCH_MAX_BYTES", 20 * 1024 * 1024, 1, problems),
      timeoutMs: integer(env, "GATEWAY_IMAGE_FETCH_TIMEOUT_MS", 10_000, 1, problems),
      maxImages: integer(env, "GATEWAY_IMAGE_FETCH_MAX_IMAGES", 16, 0, problems),
      allowPrivate: env.GATEWAY_IMAGE_FETCH_ALLOW_PRIVATE === "true",
    },
    providers,
    prices: fromFile.prices,
    models: fromFile.models,
    routing: {
      strategy: strategy(env, problems),
      maxAttempts: integer(env, "GATEWAY_MAX_ATTEMPTS", 4, 1, problems),
      retriesPerDeployment: integer(env, "GATEWAY_RETRIES_PER_DEPLOYMENT", 1, 0, problems),
      backoffMs: integer(env, "GATEWAY_RETRY_BACKOFF_MS", 250, 0, problems),
      maxBackoffMs: integer(env, "GATEWAY_RETRY_MAX_BACKOFF_MS", 5_000, 0, problems),
      deadlineMs: integer(env, "GATEWAY_ROUTING_DEADLINE_MS", 120_000, 1, problems),
      firstTokenTimeoutMs: integer(env, "GATEWAY_STREAM_FIRST_TOKEN_TIMEOUT_MS", 120_000, 1, problems),
      stallTimeoutMs: integer(env, "GATEWAY_STREAM_STALL_TIMEOUT_MS", 60_000, 1, problems),
      rateLimitWaitMs: integer(env, "GATEWAY_RATE_LIMIT_WAIT_MS", 2_000, 0, problems),
    },
    circuit: {
      failureThreshold: integer(env, "GATEWAY_CIRCUIT_FAILURES", 3, 1, problems),
      cooldownMs: integer(env, "GATEWAY_CIRCUIT_COOLDOWN_MS", 5_000, 1, problems),
      maxCooldownMs: integer(env, "GATEWAY_CIRCUIT_MAX_COOLDOWN_MS", 300_000, 1, problems),
    },
    probeIntervalMs: integer(env, "GATEWAY_HEALTH_PROBE_INTERVAL_MS", 0, 0, problems),
  };
  if (config.port > 65535) problems.push(`PORT must be at most 65535, got ${config.port}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
