/**
 * Model routes: how one public model name is served. A route lists the
 * deployments that serve the name (a provider plus the upstream model name,
 * with a weight and optional rate limits), how requests are balanced across
 * them, which models to fall back to, and the deadlines of its streams.
 *
 * A model that has no route is still served: every provider that lists the
 * name is one deployment of it (weight 1), and `provider/model` or a default
 * pattern gives a single deployment.
 */

/** How requests are spread over a model's deployments. */
export type BalancingStrategy = "round-robin" | "weighted" | "least-busy" | "lowest-latency" | "lowest-cost";

/** Every strategy, in the order the docs list them. */
export const BALANCING_STRATEGIES: readonly BalancingStrategy[] = ["round-robin", "weighted", "least-busy", "lowest-latency", "lowest-cost"];

/** One deployment of a model, as declared. */
export interface DeploymentSpec {
  /** The provider's name. */
  readonly provider: string;
  /** The model name sent to that provider. */
  readonly model: string;
  /** Share of traffic under the weighted strategy; at least 1. */
  readonly weight: number;
  /** Requests per minute this deployment accepts; undefined means no limit. */
  readonly rpm: number | undefined;
  /** Tokens per minute this deployment accepts; undefined means no limit. */
  readonly tpm: number | undefined;
  /**
   * Whether the deployment continues a trailing assistant message (an
   * assistant prefill), so a stream cut elsewhere can be finished here.
   */
  readonly supportsPrefill: boolean;
}

/** A model route as stored. */
export interface ModelRouteRecord {
  /** The public model name clients send; unique. */
  readonly name: string;
  /** Undefined means the gateway's default strategy. */
  readonly strategy: BalancingStrategy | undefined;
  /** At least one. */
  readonly deployments: readonly DeploymentSpec[];
  /** Models tried, in order, when every deployment of this one failed. */
  readonly fallbacks: readonly string[];
  /** Longest wait for a stream's first token before failing over; undefined means the gateway default. */
  readonly firstTokenTimeoutMs: number | undefined;
  /** Longest silence inside a stream; undefined means the gateway default. */
  readonly stallTimeoutMs: number | undefined;
  /**
   * Whether a stream cut mid-answer continues on a deployment that supports
   * prefill (off by default).
   */
  readonly continueOnFailure: boolean;
  readonly createTime: Date;
  readonly updateTime: Date;
}

/** Model route fields as an admin sends them (REST names; Connect maps to these). */
export interface ModelRouteInput {
  name?: unknown;
  strategy?: unknown;
  deployments?: unknown;
  fallbacks?: unknown;
  first_token_timeout_ms?: unknown;
  stall_timeout_ms?: unknown;
  continue_on_failure?: unknown;
}

/** Where model routes persist (SQLite by default; PostgreSQL later, same interface). */
export interface ModelRouteStore {
  /** Every route, ordered by name. */
  list(): Promise<ModelRouteRecord[]>;
  get(name: string): Promise<ModelRouteRecord | undefined>;
  /** @throws GatewayError `conflict` if the name is taken. */
  create(record: ModelRouteRecord): Promise<void>;
  /** Adds or replaces by name. */
  put(record: ModelRouteRecord): Promise<void>;
  /** False if there was none. */
  delete(name: string): Promise<boolean>;
}

/** Circuit state of a deployment. */
export type CircuitState = "closed" | "open" | "half-open";

/** What the gateway knows about one deployment right now, for the admin API. */
export interface DeploymentStatus {
  /** `provider/model`. */
  readonly id: string;
  readonly provider: string;
  readonly model: string;
  /** Public model names this deployment serves. */
  readonly servedAs: readonly string[];
  readonly state: CircuitState;
  /** Failures in a row. */
  readonly consecutiveFailures: number;
  /** When an open circuit lets one trial request through; undefined when not open. */
  readonly cooldownUntil: Date | undefined;
  /** Requests under way. */
  readonly inFlight: number;
  /** Moving average of the time to the first token (streams) or the answer; undefined before the first success. */
  readonly latencyMs: number | undefined;
  /** The last error's kind, or "". */
  readonly lastError: string;
  /** When the last active probe ran; undefined if none. */
  readonly lastProbeTime: Date | undefined;
}

/** Lists deployment state; the routing core implements it. */
export interface DeploymentStatusSource {
  list(): DeploymentStatus[];
}
