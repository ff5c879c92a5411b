import { expect } from "vitest";
import type { FaultUpstream } from "./fault-upstream.ts";
import { ADMIN_KEY } from "./test-gateway.ts";

/** Gateway settings that make the fault cases quick: short backoffs, cooldowns and timeouts. */
export const FAULT_ENV: Readonly<Record<string, string>> = {
  GATEWAY_RETRY_BACKOFF_MS: "20",
  GATEWAY_RETRY_MAX_BACKOFF_MS: "1500",
  GATEWAY_CIRCUIT_FAILURES: "2",
  GATEWAY_CIRCUIT_COOLDOWN_MS: "400",
  GATEWAY_UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "1000",
  GATEWAY_UPSTREAM_IDLE_TIMEOUT_MS: "1000",
  GATEWAY_UPSTREAM_TOTAL_TIMEOUT_MS: "1500",
  // Long defaults, so that a test whose route sets a short deadline shows that the route's applies.
  GATEWAY_STREAM_FIRST_TOKEN_TIMEOUT_MS: "5000",
  GATEWAY_STREAM_STALL_TIMEOUT_MS: "5000",
  GATEWAY_RATE_LIMIT_WAIT_MS: "0",
};

/** A deployment of a test route; `model` defaults to a fresh upstream model name. */
export interface DeploymentInput {
  provider: string;
  model?: string;
  weight?: number;
  rpm?: number;
  supports_prefill?: boolean;
}

/** A unary answer as the client saw it. */
export interface Answer {
  status: number;
  headers: Headers;
  json: any;
  ms: number;
}

/** A streamed answer as the client saw it. */
export interface Streamed {
  status: number;
  headers: Headers;
  /** The text of every content delta, joined. */
  text: string;
  /** The parsed `data:` frames, `[DONE]` as the string. */
  frames: unknown[];
  ms: number;
}

/**
 * REST calls to a test gateway with the admin key: admin requests, model
 * routes with fresh names (`<prefix>-<n>`, deployments `<name>-m<i>`, so no
 * test inherits another's circuit state), and chat completions.
 */
export function routingClient(url: () => string, prefix: string) {
  let counter = 0;
  const headers = { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" };

  async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${url()}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  }

  return {
    admin,
    /** Creates a round-robin model route (its first request goes to the first deployment); returns its name. */
    async route(deployments: DeploymentInput[], extra: Record<string, unknown> = {}): Promise<string> {
      const name = `${prefix}-${++counter}`;
      const res = await admin("POST", "/v1/model-routes", {
        name,
        strategy: "round-robin",
        deployments: deployments.map((d, i) => ({ ...d, model: d.model ?? `${name}-m${i}` })),
        ...extra,
      });
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      return name;
    },
    async chat(model: string, extra: Record<string, unknown> = {}): Promise<Answer> {
      const start = performance.now();
      const res = await fetch(`${url()}/v1/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], ...extra }),
      });
      const json = await res.json();
      return { status: res.status, headers: res.headers, json, ms: performance.now() - start };
    },
    async stream(model: string, extra: Record<string, unknown> = {}): Promise<Streamed> {
      const start = performance.now();
      const res = await fetch(`${url()}/v1/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], stream: true, ...extra }),
      });
      const frames = (await res.text())
        .split("\n\n")
        .filter((f) => f.startsWith("data: "))
        .map((f) => f.slice(6))
        .map((d) => (d === "[DONE]" ? d : JSON.parse(d)));
      const text = frames.map((f: any) => (typeof f === "object" && f.choices?.[0]?.delta?.content) || "").join("");
      return { status: res.status, headers: res.headers, text, frames, ms: performance.now() - start };
    },
  };
}

/** Chat requests upstream `u` got for deployment `i` of the test route `model`. */
export function calls(u: FaultUpstream, model: string, i = 0): number {
  return u.requests.filter((r) => (r.body as { model?: string } | undefined)?.model === `${model}-m${i}`).length;
}
