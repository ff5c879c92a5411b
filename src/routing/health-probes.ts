import type { Logger } from "../log/logger.ts";
import { providerTypes } from "../providers/provider-registry.ts";
import type { UpstreamClient } from "../upstream/upstream-client.ts";
import type { DeploymentHealth } from "./deployment-health.ts";
import type { Deployment } from "./model-router.ts";

/** Active health checks, running until stopped. */
export interface HealthProbes {
  /** Probes every provider once now (also what each interval does). */
  runOnce(): Promise<void>;
  stop(): void;
}

/** Longest a probe may take. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Probes each provider that has deployments, every `intervalMs`, with a
 * request that costs nothing: its model listing (`GET {base}/models`). A
 * success lets the provider's open circuits try a request at once; a failure
 * counts against each of its deployments like a failed request.
 */
export function startHealthProbes(deps: {
  deployments: () => readonly Deployment[];
  health: DeploymentHealth;
  upstream: UpstreamClient;
  logger: Logger;
  intervalMs: number;
}): HealthProbes {
  async function probe(d: Deployment): Promise<boolean> {
    const { provider } = d;
    const url = `${d.baseUrl}/models`;
    try {
      const res = await deps.upstream.send("GET", url, providerTypes[provider.type].authHeaders(provider.apiKey), undefined, AbortSignal.timeout(PROBE_TIMEOUT_MS));
      await res.body.dump();
      return res.status >= 200 && res.status < 300;
    } catch {
      return false;
    }
  }

  async function runOnce(): Promise<void> {
    const byProvider = new Map<string, Deployment[]>();
    for (const d of deps.deployments()) {
      const list = byProvider.get(d.provider.name);
      if (list) list.push(d);
      else byProvider.set(d.provider.name, [d]);
    }
    await Promise.all(
      [...byProvider.values()].map(async (ds) => {
        const first = ds[0] as Deployment;
        const { provider } = first;
        const ok = await probe(first);
        if (!ok) deps.logger.warn("health probe failed", { provider: provider.name });
        for (const d of ds) deps.health.probed(d, ok);
      }),
    );
  }

  let running = false;
  const timer =
    deps.intervalMs > 0
      ? setInterval(() => {
          if (running) return;
          running = true;
          void runOnce().finally(() => (running = false));
        }, deps.intervalMs)
      : undefined;
  timer?.unref();
  return {
    runOnce,
    stop: () => clearInterval(timer),
  };
}
