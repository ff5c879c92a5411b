import { describe, expect, it } from "vitest";
import { errorTable, GatewayError, type ErrorKind } from "../../src/errors/gateway-error.ts";
import { mapAnthropicError } from "../../src/providers/anthropic/anthropic-errors.ts";
import { mapGeminiErrorBody } from "../../src/providers/gemini/gemini-errors.ts";
import { mapOpenAIErrorBody } from "../../src/providers/openai/openai-errors.ts";
import { backoffMs, classify, FIRST_TOKEN_TIMEOUT, isContextLengthError, type RetryOptions, type Verdict } from "../../src/routing/retry-policy.ts";

const options: RetryOptions = { maxAttempts: 5, retriesPerDeployment: 2, backoffMs: 100, maxBackoffMs: 1000, deadlineMs: 60_000 };

describe("classify", () => {
  const expected: Record<ErrorKind, Verdict> = {
    rate_limited: "retry",
    upstream_error: "retry",
    upstream_unavailable: "retry",
    timeout: "retry",
    upstream_auth: "next-deployment",
    invalid_request: "return",
    not_found: "return",
    payload_too_large: "return",
    permission_denied: "return",
    canceled: "return",
    unauthenticated: "return",
    conflict: "return",
    internal: "return",
  };

  it("has a verdict for every error kind", () => {
    expect(Object.keys(expected).sort()).toEqual(Object.keys(errorTable).sort());
  });

  it.each(Object.entries(expected) as [ErrorKind, Verdict][])("classifies %s as %s", (kind, verdict) => {
    expect(classify(new GatewayError(kind, "something went wrong"))).toBe(verdict);
  });

  it.each([
    [429, "retry"],
    [500, "retry"],
    [502, "retry"],
    [503, "retry"],
    [504, "retry"],
    [529, "retry"],
    [408, "retry"],
    [401, "next-deployment"],
    [403, "next-deployment"],
    [400, "return"],
    [404, "return"],
    [413, "return"],
    [422, "return"],
  ] as const)("an upstream HTTP %i becomes %s", (status, verdict) => {
    expect(classify(mapOpenAIErrorBody(status, { error: { message: "upstream said no", type: "x", code: null } }))).toBe(verdict);
  });

  it("fails a stream whose first token came too late over to the next deployment, without a retry", () => {
    expect(classify(new GatewayError("timeout", "the upstream sent no first token within 500 ms", { code: FIRST_TOKEN_TIMEOUT }))).toBe("next-deployment");
    expect(classify(new GatewayError("timeout", "the upstream stalled: it sent no data within 500 ms", { code: "stream_stalled" }))).toBe("retry");
  });

  it("answers a content-policy refusal at once", () => {
    const e = mapOpenAIErrorBody(400, { error: { message: "Your request was rejected as a result of our safety system.", type: "invalid_request_error", code: "content_policy_violation" } });
    expect(classify(e)).toBe("return");
  });

  it("sends OpenAI's context_length_exceeded to the next model", () => {
    const e = mapOpenAIErrorBody(400, {
      error: {
        message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    });
    expect(isContextLengthError(e)).toBe(true);
    expect(classify(e)).toBe("next-model");
  });

  it("recognises context_length_exceeded by its code whatever the message says", () => {
    expect(classify(new GatewayError("invalid_request", "bad request", { code: "context_length_exceeded" }))).toBe("next-model");
  });

  it("sends Anthropic's 'prompt is too long' to the next model", () => {
    const e = mapAnthropicError(400, { type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 208310 tokens > 200000 maximum" } });
    expect(e.kind).toBe("invalid_request");
    expect(classify(e)).toBe("next-model");
  });

  it("sends Gemini's 'exceeds the maximum number of tokens' to the next model", () => {
    const e = mapGeminiErrorBody(400, {
      error: { code: 400, message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", status: "INVALID_ARGUMENT" },
    });
    expect(e.kind).toBe("invalid_request");
    expect(classify(e)).toBe("next-model");
  });

  it("does not take an error of another kind that mentions the context for a context-length error", () => {
    const e = new GatewayError("upstream_error", "maximum context length exceeded while the server was overloaded");
    expect(isContextLengthError(e)).toBe(false);
    expect(classify(e)).toBe("retry");
  });

  it("answers other invalid requests at once", () => {
    expect(classify(new GatewayError("invalid_request", "messages[0].role: must be one of system, user, assistant, tool"))).toBe("return");
  });
});

describe("backoffMs", () => {
  const draws = [0, 0.25, 0.5, 0.75, 0.999999];

  it("doubles on each retry, jittered over the upper half of the step", () => {
    for (const [retry, cap] of [
      [1, 100],
      [2, 200],
      [3, 400],
      [4, 800],
    ] as const) {
      const waits = draws.map((r) => backoffMs(retry, undefined, options, () => r) as number);
      expect(Math.min(...waits)).toBe(cap / 2);
      expect(Math.max(...waits)).toBe(cap);
      expect(waits).toEqual([...waits].sort((a, b) => a - b));
    }
  });

  it("never waits longer than maxBackoffMs", () => {
    for (const retry of [5, 6, 10, 40]) {
      for (const r of draws) {
        const ms = backoffMs(retry, undefined, options, () => r) as number;
        expect(ms).toBeGreaterThanOrEqual(500);
        expect(ms).toBeLessThanOrEqual(1000);
      }
    }
  });

  it("spreads concurrent retries: different draws give different waits", () => {
    const waits = new Set(draws.map((r) => backoffMs(3, undefined, options, () => r)));
    expect(waits.size).toBe(draws.length);
  });

  it("honours Retry-After exactly, without jitter", () => {
    expect(backoffMs(1, 0, options, () => 0.5)).toBe(0);
    expect(backoffMs(1, 1, options, () => 0.5)).toBe(1000);
    expect(backoffMs(4, 1, options, () => 0)).toBe(1000);
  });

  it("gives undefined (fail over instead of waiting) when Retry-After is beyond maxBackoffMs", () => {
    expect(backoffMs(1, 2, options)).toBeUndefined();
    expect(backoffMs(1, 3600, options)).toBeUndefined();
  });
});
