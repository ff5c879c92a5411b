import { describe, expect, it } from "vitest";
import type { ProviderRecord } from "../../src/providers/provider.ts";
import { builtinProviders, effectiveBaseUrl } from "../../src/providers/provider-registry.ts";
import { createModelRouter } from "../../src/routing/model-router.ts";

function provider(name: string, modelNames: string[] = [], at = 0): ProviderRecord {
  return { name, type: "openai", baseUrl: "https://x.test", apiKey: "", modelNames, dropUnsupportedParams: false, createTime: new Date(at), updateTime: new Date(at) };
}

function routerWith(...providers: ProviderRecord[]) {
  const r = createModelRouter(builtinProviders.flatMap((b) => b.patterns.map((pattern) => ({ pattern, provider: b.name }))));
  r.load(providers);
  return r;
}

describe("model routing", () => {
  it("holds the integration guide's routing cases", () => {
    const r = routerWith(provider("openai"), provider("anthropic"), provider("google"), provider("meta"));
    expect(r.resolve("gpt-4").provider.name).toBe("openai");
    expect(r.resolve("claude-3").provider.name).toBe("anthropic");
    expect(r.resolve("gemini-1.5").provider.name).toBe("google");
    expect(r.resolve("llama-3").provider.name).toBe("meta");
    expect(r.resolve("Llama-3.3-70B-Instruct").provider.name).toBe("meta");
    for (const m of ["o1-mini", "o3", "o4-mini", "chatgpt-4o-latest"]) expect(r.resolve(m).provider.name).toBe("openai");
  });

  it("prefers a model name a provider lists over the default patterns", () => {
    const r = routerWith(provider("openai"), provider("azure", ["gpt-4"]));
    expect(r.resolve("gpt-4")).toMatchObject({ provider: { name: "azure" }, model: "gpt-4", match: "exact" });
  });

  it("routes provider/model explicitly and sends the model without the prefix", () => {
    const r = routerWith(provider("openai"), provider("anthropic"));
    expect(r.resolve("anthropic/claude-3-5-sonnet")).toMatchObject({ provider: { name: "anthropic" }, model: "claude-3-5-sonnet", match: "prefix" });
  });

  it("keeps a listed model whose name contains a slash whole", () => {
    const r = routerWith(provider("together", ["meta-llama/Llama-3-70b"]));
    expect(r.resolve("meta-llama/Llama-3-70b")).toMatchObject({ provider: { name: "together" }, model: "meta-llama/Llama-3-70b" });
  });

  it("answers an unknown model with model_not_found and says how to list models", () => {
    const r = routerWith(provider("openai"));
    expect(() => r.resolve("mystery-model")).toThrowError(/GET \/v1\/models/);
    expect(() => r.resolve("claude-3")).toThrowError(/provider 'anthropic', which is not configured/);
  });

  it("sees a reload at once and lists listed models by name", () => {
    const r = routerWith(provider("a", ["m2", "m1"]));
    expect(r.list().map((m) => m.id)).toEqual(["m1", "m2"]);
    r.load([]);
    expect(() => r.resolve("m1")).toThrow();
  });
});

describe("base URLs", () => {
  it("adds the version path to a bare origin and keeps a URL that has a path", () => {
    expect(effectiveBaseUrl("openai", "https://api.openai.com")).toBe("https://api.openai.com/v1");
    expect(effectiveBaseUrl("openai", "https://api.openai.com/")).toBe("https://api.openai.com/v1");
    expect(effectiveBaseUrl("openai", "https://api.groq.com/openai/v1")).toBe("https://api.groq.com/openai/v1");
    expect(effectiveBaseUrl("openai", "http://localhost:11434/v1/")).toBe("http://localhost:11434/v1");
  });
});
