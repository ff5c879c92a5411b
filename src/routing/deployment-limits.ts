import type { LimitDecision, RateLimiter } from "../limits/rate-limiter.ts";
import type { Deployment } from "./model-router.ts";

/**
 * A deployment's own rpm and tpm (what the provider account allows), on the
 * shared {@link RateLimiter}: in memory for one process, Redis when replicas
 * share the limits. Checked before each attempt; tokens counted after it.
 */
export interface DeploymentLimits {
  /** Takes one request from the deployment's rpm and checks its tpm. */
  admit(d: Deployment): Promise<LimitDecision>;
  /** Counts the tokens an attempt used against the deployment's tpm. */
  used(d: Deployment, tokens: number): Promise<void>;
}

const OK: LimitDecision = { ok: true };

/** Creates the {@link DeploymentLimits} on a rate limiter. */
export function createDeploymentLimits(limiter: RateLimiter): DeploymentLimits {
  return {
    async admit(d) {
      if (d.tpm !== undefined) {
        const t = await limiter.check(`deployment-tpm:${d.id}`, d.tpm);
        if (!t.ok) return t;
      }
      if (d.rpm !== undefined) return limiter.take(`deployment-rpm:${d.id}`, 1, d.rpm);
      return OK;
    },
    async used(d, tokens) {
      if (d.tpm !== undefined && tokens > 0) await limiter.add(`deployment-tpm:${d.id}`, tokens);
    },
  };
}
