import { describe, expect, it } from "vitest";
import { createMemoryRateLimiter } from "../../src/limits/rate-limiter.ts";

describe("in-memory rate limiter", () => {
  it("allows up to the limit within a minute and says when to retry", async () => {
    let t = 1_000_000;
    const limiter = createMemoryRateLimiter(() => t);
    for (let i = 0; i < 3; i++) expect((await limiter.take("k", 1, 3)).ok).toBe(true);
    t += 10_000;
    const refused = await limiter.take("k", 1, 3);
    expect(refused).toEqual({ ok: false, retryAfterSeconds: 50 });
    t += 50_000;
    expect((await limiter.take("k", 1, 3)).ok).toBe(true);
  });

  it("keeps keys apart and counts added usage against checks", async () => {
    const t = 5_000_000;
    const limiter = createMemoryRateLimiter(() => t);
    await limiter.add("tpm:a", 1000);
    expect((await limiter.check("tpm:a", 1000)).ok).toBe(false);
    expect((await limiter.check("tpm:b", 1000)).ok).toBe(true);
  });

  it("lets one request through an empty window even when it alone exceeds the limit", async () => {
    const limiter = createMemoryRateLimiter(() => 0);
    expect((await limiter.take("k", 500, 100)).ok).toBe(true);
  });
});
