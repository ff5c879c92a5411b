import { describe, expect, it } from "vitest";
import type { ProviderRecord } from "../../src/providers/provider.ts";
import { builtinProviders, effectiveBaseUrl } from "../../src/providers/provider-registry.ts";
import type { ModelRouteRecord } from "../../src/routing/model-route.ts";
import { createModelRouter, type Deployment, type ModelRouter } from "../../src/routing/model-router.ts";

function provider(name: string, modelNames: string[] = [], at = 0): ProviderRecord {
  return { name, type: "openai", baseUrl: "https://x.test", apiKey: "", modelNames, dropUnsupportedParams: false, createTime: new Date(at), updateTime: new Date(at) };
}

function first(r: ModelRouter, model: string): Deployment {
  return r.resolve(model).deployments[0] as Deployment;
}

function routerWith(...providers: ProviderRecord[]) {
  const r = createModelRouter(builtinProviders.flatMap((b) => b.patterns.map((pattern) => ({ pattern, provider: b.name }))));
  r.loadProviders(providers);
  return r;
}

describe("model routing", () => {
  it("holds the integration guide's routing cases", () => {
    const r = routerWith(provider("openai"), provider("anthropic"), provider("google"), provider("meta"));
    expect(first(r, "gpt-4").provider.name).toBe("openai");
    expect(first(r, "claude-3").provider.name).toBe("anthropic");
    expect(first(r, "gemini-1.5").provider.name).toBe("google");
    expect(first(r, "llama-3").provider.name).toBe("meta");
    expect(first(r, "Llama-3.3-70B-Instruct").provider.name).toBe("meta");
    for (const m of ["o1-mini", "o3", "o4-mini", "chatgpt-4o-latest"]) expect(first(r, m).provider.name).toBe("openai");
  });

  it("prefers a model name a provider lists over the default patterns", () => {
    const r = routerWith(provider("openai"), provider("azure", ["gpt-4"]));
    expect(r.resolve("gpt-4")).toMatchObject({ match: "exact", deployments: [{ provider: { name: "azure" }, model: "gpt-4" }] });
  });

  it("routes provider/model explicitly and sends the model without the prefix", () => {
    const r = routerWith(provider("openai"), provider("anthropic"));
    expect(r.resolve("anthropic/claude-3-5-sonnet")).toMatchObject({ match: "prefix", deployments: [{ provider: { name: "anthropic" }, model: "claude-3-5-sonnet" }] });
  });

  it("keeps a listed model whose name contains a slash whole", () => {
    const r = routerWith(provider("together", ["meta-llama/Llama-3-70b"]));
    expect(first(r, "meta-llama/Llama-3-70b")).toMatchObject({ provider: { name: "together" }, model: "meta-llama/Llama-3-70b" });
  });

  it("answers an unknown model with model_not_found and says how to list models", () => {
    const r = routerWith(provider("openai"));
    expect(() => r.resolve("mystery-model")).toThrowError(/GET \/v1\/models/);
    expect(() => r.resolve("claude-3")).toThrowError(/provider 'anthropic', which is not configured/);
  });

  it("sees a reload at once and lists listed models by name", () => {
    const r = routerWith(provider("a", ["m2", "m1"]));
    expect(r.list().map((m) => m.id)).toEqual(["m1", "m2"]);
    r.loadProviders([]);
    expect(() => r.resolve("m1")).toThrow();
  });

  it("makes every provider that lists a name one deployment of it", () => {
    const r = routerWith(provider("a", ["m"], 1), provider("b", ["m"], 2));
    expect(r.resolve("m").deployments.map((d) => d.id)).toEqual(["a/m", "b/m"]);
    expect(r.list()).toEqual([{ id: "m", provider: "a", created: 0, deployments: [{ provider: "a", model: "m" }, { provider: "b", model: "m" }] }]);
  });

  it("serves a model route before listed names, skipping deployments whose provider is gone", () => {
    const r = routerWith(provider("a", ["smart"]), provider("b"));
    const route: ModelRouteRecord = {
      name: "smart",
      strategy: "lowest-cost",
      deployments: [
        { provider: "b", model: "b-large", weight: 3, rpm: 10, tpm: undefined, supportsPrefill: true },
        { provider: "gone", model: "x", weight: 1, rpm: undefined, tpm: undefined, supportsPrefill: false },
      ],
      fallbacks: ["m"],
      firstTokenTimeoutMs: 500,
      stallTimeoutMs: undefined,
      continueOnFailure: true,
      createTime: new Date(5000),
      updateTime: new Date(5000),
    };
    r.loadRoutes([route]);
    expect(r.resolve("smart")).toMatchObject({
      match: "route",
      strategy: "lowest-cost",
      fallbacks: ["m"],
      firstTokenTimeoutMs: 500,
      continueOnFailure: true,
      deployments: [{ id: "b/b-large", weight: 3, rpm: 10, supportsPrefill: true }],
    });
    expect(r.resolve("smart").deployments).toHaveLength(1);
    expect(r.deployments().map((d) => d.id).sort()).toEqual(["b/b-large"]);
    r.loadRoutes([]);
    expect(first(r, "smart").id).toBe("a/smart");
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
