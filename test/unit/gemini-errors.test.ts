import { describe, expect, it } from "vitest";
import { mapGeminiErrorBody, mapGeminiErrorText } from "../../src/providers/gemini/gemini-errors.ts";
import { fixtureBody } from "../support/fixtures.ts";
import { geminiError } from "../support/fake-gemini.ts";

const errorInfo = (reason: string) => ({ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } });

describe("Gemini error mapping", () => {
  it("maps the recorded 404 NOT_FOUND (plain JSON on an event-stream response) to not_found with Google's message", () => {
    const raw = fixtureBody("gemini-stream-errors-and-raw-framing.txt");
    const json = raw.slice(raw.indexOf("{\n"), raw.indexOf("\n}\n") + 2);
    const err = mapGeminiErrorText(404, json);
    expect(err).toMatchObject({ kind: "not_found", status: 404, openaiCode: "NOT_FOUND" });
    expect(err.message).toMatch(/^models\/custom-gemini-2\.0-flash is not found for API version v1beta/);
  });

  it("maps 400 INVALID_ARGUMENT to invalid_request with the message", () => {
    const err = mapGeminiErrorBody(400, geminiError(400, "INVALID_ARGUMENT", "Please ensure that multiturn requests ends with a user role or a function response."));
    expect(err).toMatchObject({ kind: "invalid_request", status: 400, openaiCode: "INVALID_ARGUMENT", message: expect.stringMatching(/multiturn/) });
  });

  it("maps an invalid API key (400 INVALID_ARGUMENT with ErrorInfo API_KEY_INVALID) to upstream_auth, hiding the upstream message", () => {
    const err = mapGeminiErrorBody(400, geminiError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [errorInfo("API_KEY_INVALID")]));
    expect(err).toMatchObject({ kind: "upstream_auth", status: 502 });
    expect(err.message).not.toMatch(/API key not valid/);
  });

  it("maps 403 PERMISSION_DENIED to upstream_auth", () => {
    expect(mapGeminiErrorBody(403, geminiError(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."))).toMatchObject({ kind: "upstream_auth" });
  });

  it("keeps the Retry-After header of a 429 RESOURCE_EXHAUSTED, or else RetryInfo's retryDelay", () => {
    const quota = geminiError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [
      { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [] },
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "36.5s" },
    ]);
    expect(mapGeminiErrorBody(429, quota, 7)).toMatchObject({ kind: "rate_limited", status: 429, retryAfterSeconds: 7 });
    expect(mapGeminiErrorBody(429, quota)).toMatchObject({ kind: "rate_limited", status: 429, retryAfterSeconds: 37 });
    expect(mapGeminiErrorBody(429, geminiError(429, "RESOURCE_EXHAUSTED", "slow down")).retryAfterSeconds).toBeUndefined();
  });

  it("keeps 503 UNAVAILABLE and 500 INTERNAL as upstream errors with their status", () => {
    expect(mapGeminiErrorBody(503, geminiError(503, "UNAVAILABLE", "The model is overloaded."), 3)).toMatchObject({ kind: "upstream_error", status: 503, retryAfterSeconds: 3 });
    expect(mapGeminiErrorBody(500, geminiError(500, "INTERNAL", "An internal error has occurred."))).toMatchObject({ kind: "upstream_error", status: 500 });
  });

  it("maps 504 DEADLINE_EXCEEDED to a timeout", () => {
    expect(mapGeminiErrorBody(504, geminiError(504, "DEADLINE_EXCEEDED", "Deadline exceeded"))).toMatchObject({ kind: "timeout", status: 504 });
  });

  it("takes the status from the envelope's code for an error sent inside a 200 stream", () => {
    expect(mapGeminiErrorBody(0, geminiError(503, "UNAVAILABLE", "overloaded"))).toMatchObject({ kind: "upstream_error", status: 503 });
    expect(mapGeminiErrorBody(0, { error: { message: "no code" } })).toMatchObject({ kind: "upstream_error", status: 500 });
  });

  it("redacts key-like text from upstream messages and keeps non-JSON bodies as text", () => {
    const err = mapGeminiErrorBody(400, geminiError(400, "INVALID_ARGUMENT", "bad request for key AIzaSyA1234567890abcdefghijklmnopqrstuv"));
    expect(err.message).not.toMatch(/AIzaSy/);
    expect(mapGeminiErrorText(502, "<html>Bad Gateway</html>")).toMatchObject({ kind: "upstream_error", status: 502, message: "<html>Bad Gateway</html>" });
  });
});
