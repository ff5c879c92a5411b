import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The label value for a model that no provider serves, so clients cannot inflate the series. */
export const UNKNOWN_MODEL = "unknown";

/** The gateway's Prometheus metrics, on a registry of their own. */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** Chat completions by model and the HTTP status sent to the client, every surface. */
  readonly requests: Counter<"model" | "status">;
  /** Whole request duration by model, from arrival to the last byte. */
  readonly requestDuration: Histogram<"model">;
  /** Upstream call duration by provider and model. */
  readonly upstreamDuration: Histogram<"provider" | "model">;
  /** Time from arrival to the first generated token of a stream. */
  readonly timeToFirstToken: Histogram<"provider" | "model">;
  /** Tokens by provider, model and direction (input or output). */
  readonly tokens: Counter<"provider" | "model" | "direction">;
  /** Failed requests by provider and error kind. */
  readonly errors: Counter<"provider" | "type">;
  /** Requests being served, by provider and model. */
  readonly inFlight: Gauge<"provider" | "model">;
  /** USD spent, by provider and model, at the prices in force. */
  readonly cost: Counter<"provider" | "model">;
  /** Requests refused by a key's limits: reason is model, rpm, tpm or budget. */
  readonly rejections: Counter<"reason">;
  /** Upstream attempts by provider, model and outcome ("success" or the error kind). */
  readonly attempts: Counter<"provider" | "model" | "outcome">;
  /** Retries on the same deployment after a transient failure. */
  readonly retries: Counter<"provider" | "model">;
  /** Failovers from a deployment to the next one of the same model. */
  readonly failovers: Counter<"provider" | "model">;
  /** Requests that went to a fallback model, by requested model and result (success, failure). */
  readonly fallbacks: Counter<"model" | "result">;
  /** Deployments taken out (circuit opened, or the upstream asked to wait). */
  readonly cooldowns: Counter<"provider" | "model">;
  /** Circuit state per deployment: 0 closed, 1 half-open, 2 open. */
  readonly deploymentState: Gauge<"provider" | "model">;
  /** Attempts a deployment's own rpm/tpm limit turned away. */
  readonly deploymentRateLimited: Counter<"provider" | "model">;
  /** Streams cut mid-answer that a prefill deployment continued, by model and result. */
  readonly continuations: Counter<"model" | "result">;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** A deployment's circuit state as `gateway_deployment_state` reports it at each scrape. */
export interface DeploymentStateSample {
  readonly provider: string;
  readonly model: string;
  /** 0 closed, 1 half-open, 2 open. */
  readonly value: number;
}

/**
 * Creates the metrics on a new registry, with Node's default process
 * metrics. `deploymentStates` is read at each scrape, so every declared
 * deployment has a `gateway_deployment_state` series, failing or not.
 */
export function createMetrics(deploymentStates: () => Iterable<DeploymentStateSample> = () => []): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: "langchain_requests_total",
      help: "Chat completion requests by model and HTTP status sent to the client (all surfaces).",
      labelNames: ["model", "status"],
      registers,
    }),
    requestDuration: new Histogram({
      name: "langchain_request_duration_seconds",
      help: "Chat completion request duration by model, arrival to last byte.",
      labelNames: ["model"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upstreamDuration: new Histogram({
      name: "gateway_upstream_duration_seconds",
      help: "Upstream call duration by provider and model.",
      labelNames: ["provider", "model"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    timeToFirstToken: new Histogram({
      name: "gateway_time_to_first_token_seconds",
      help: "Time from arrival to the first generated token of a streamed completion.",
      labelNames: ["provider", "model"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    tokens: new Counter({
      name: "gateway_tokens_total",
      help: "Tokens by provider, model and direction (input, output).",
      labelNames: ["provider", "model", "direction"],
      registers,
    }),
    errors: new Counter({
      name: "gateway_errors_total",
      help: "Failed chat completions by provider and error type.",
      labelNames: ["provider", "type"],
      registers,
    }),
    inFlight: new Gauge({
      name: "gateway_requests_in_flight",
      help: "Chat completions being served, by provider and model.",
      labelNames: ["provider", "model"],
      registers,
    }),
    cost: new Counter({
      name: "gateway_cost_usd_total",
      help: "USD spent by provider and model, at the prices in force when recorded.",
      labelNames: ["provider", "model"],
      registers,
    }),
    rejections: new Counter({
      name: "gateway_key_rejections_total",
      help: "Requests refused by a key's limits, by reason (model, rpm, tpm, budget).",
      labelNames: ["reason"],
      registers,
    }),
    attempts: new Counter({
      name: "gateway_upstream_attempts_total",
      help: "Upstream attempts by provider, model and outcome (success or the error kind).",
      labelNames: ["provider", "model", "outcome"],
      registers,
    }),
    retries: new Counter({
      name: "gateway_retries_total",
      help: "Retries on the same deployment after a transient failure.",
      labelNames: ["provider", "model"],
      registers,
    }),
    failovers: new Counter({
      name: "gateway_failovers_total",
      help: "Failovers away from a deployment to the next one of the same model.",
      labelNames: ["provider", "model"],
      registers,
    }),
    fallbacks: new Counter({
      name: "gateway_fallbacks_total",
      help: "Requests that went to a fallback model, by requested model and result (success, failure).",
      labelNames: ["model", "result"],
      registers,
    }),
    cooldowns: new Counter({
      name: "gateway_deployment_cooldowns_total",
      help: "Times a deployment was taken out: its circuit opened, or the upstream asked to wait.",
      labelNames: ["provider", "model"],
      registers,
    }),
    deploymentState: new Gauge({
      name: "gateway_deployment_state",
      help: "Circuit state per deployment: 0 closed, 1 half-open, 2 open.",
      labelNames: ["provider", "model"],
      registers,
      collect() {
        this.reset();
        for (const s of deploymentStates()) this.set({ provider: s.provider, model: s.model }, s.value);
      },
    }),
    deploymentRateLimited: new Counter({
      name: "gateway_deployment_rate_limited_total",
      help: "Attempts that a deployment's own rpm/tpm limit turned away.",
      labelNames: ["provider", "model"],
      registers,
    }),
    continuations: new Counter({
      name: "gateway_stream_continuations_total",
      help: "Streams cut mid-answer that the gateway tried to continue on a prefill deployment, by model and result.",
      labelNames: ["model", "result"],
      registers,
    }),
  };
}
