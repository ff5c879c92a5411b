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
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Creates the metrics on a new registry, with Node's default process metrics. */
export function createMetrics(): GatewayMetrics {
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
  };
}
