import { describe, expect, it } from "vitest";
import { mapOpenAIErrorText, parseRetryAfter } from "../../src/providers/openai/openai-errors.ts";
import { toOpenAIError } from "../../src/http/openai-wire.ts";

describe("upstream error mapping", () => {
  it.each([
    [400, "invalid_request", 400],
    [401, "upstream_auth", 502],
    [403, "upstream_auth", 502],
    [404, "not_found", 404],
    [413, "payload_too_large", 413],
    [422, "invalid_request", 422],
    [429, "rate_limited", 429],
    [500, "upstream_error", 500],
    [503, "upstream_error", 503],
    [529, "upstream_error", 503],
  ])("maps upstream %i to %s with status %i", (status, kind, sent) => {
    const e = mapOpenAIErrorText(status, JSON.stringify({ error: { message: "m", type: "t", param: null, code: "c" } }));
    expect(e.kind).toBe(kind);
    expect(e.status).toBe(sent);
  });

  it("never passes on an upstream message that echoes the gateway's key", () => {
    const e = mapOpenAIErrorText(401, JSON.stringify({ error: { message: "Incorrect API key provided: sk-proj-abc123456789." } }));
    expect(JSON.stringify(toOpenAIError(e))).not.toContain("sk-proj");
    const e2 = mapOpenAIErrorText(400, JSON.stringify({ error: { message: "bad key sk-proj-abc123456789 here" } }));
    expect(e2.message).not.toContain("sk-proj-abc");
  });

  it("keeps Retry-After, in seconds or as an HTTP date", () => {
    expect(parseRetryAfter("7")).toBe(7);
    expect(parseRetryAfter(new Date(10_000 + 5_000).toUTCString(), 10_000)).toBe(5);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it("reads a body that is not JSON as the message", () => {
    expect(mapOpenAIErrorText(502, "<html>bad gateway</html>").message).toContain("bad gateway");
  });
});
