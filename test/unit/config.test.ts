import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.ts";

describe("configuration", () => {
  it("has a default for every setting", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, dbPath: "./data/gateway.db", maxBodyBytes: 16 * 1024 * 1024, logLevel: "info", providers: [] });
    expect(c.upstream.totalMs).toBeGreaterThan(0);
  });

  it("declares the built-in providers whose keys are set, with base URL overrides", () => {
    const c = loadConfig({ OPENAI_API_KEY: "sk-1", META_API_KEY: "m-1", OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
    expect(c.providers).toEqual([
      { name: "openai", type: "openai", base_url: "http://127.0.0.1:9/v1", api_key: "sk-1" },
      { name: "meta", type: "openai", base_url: "https://api.llama.com/compat/v1", api_key: "m-1" },
    ]);
  });

  it("reads providers from a config file with ${ENV} references, from --config or GATEWAY_CONFIG", () => {
    const file = JSON.stringify({ providers: [{ name: "groq", base_url: "https://api.groq.com/openai/v1", api_key: "${GROQ_KEY}", model_names: ["llama-3.1-8b-instant"] }] });
    const read = () => file;
    for (const [env, argv] of [[{ GROQ_KEY: "g" }, ["--config", "x.json"]], [{ GROQ_KEY: "g", GATEWAY_CONFIG: "x.json" }, []]] as const) {
      expect(loadConfig(env, argv, read).providers).toEqual([
        { name: "groq", base_url: "https://api.groq.com/openai/v1", api_key: "g", model_names: ["llama-3.1-8b-instant"] },
      ]);
    }
  });

  it("reads model routes from the config file, and routing settings from the environment with defaults", () => {
    const file = JSON.stringify({
      providers: [{ name: "azure", base_url: "https://x.test" }],
      models: [{ name: "gpt-4o", strategy: "least-busy", deployments: [{ provider: "azure", model: "gpt-4o-eu", rpm: "${RPM}" }], fallbacks: ["claude-3-5-sonnet"] }],
    });
    const c = loadConfig({ RPM: "60", GATEWAY_MAX_ATTEMPTS: "6", GATEWAY_ROUTING_STRATEGY: "lowest-cost" }, ["--config", "x.json"], () => file);
    expect(c.models).toEqual([{ name: "gpt-4o", strategy: "least-busy", deployments: [{ provider: "azure", model: "gpt-4o-eu", rpm: "60" }], fallbacks: ["claude-3-5-sonnet"] }]);
    expect(c.routing).toMatchObject({ strategy: "lowest-cost", maxAttempts: 6, retriesPerDeployment: 1, firstTokenTimeoutMs: 120_000, stallTimeoutMs: 60_000 });
    expect(loadConfig({}).routing.strategy).toBe("weighted");
    expect(loadConfig({}).circuit).toEqual({ failureThreshold: 3, cooldownMs: 5_000, maxCooldownMs: 300_000 });
    expect(loadConfig({}).probeIntervalMs).toBe(0);
    expect(() => loadConfig({ GATEWAY_ROUTING_STRATEGY: "random" })).toThrowError(/GATEWAY_ROUTING_STRATEGY must be one of round-robin, weighted/);
  });

  it("reports every problem at once", () => {
    const file = JSON.stringify({ providers: [{ api_key: "${MISSING}" }], extra: 1 });
    try {
      loadConfig({ PORT: "x", LOG_LEVEL: "loud", GATEWAY_ADMIN_KEY: "short", GATEWAY_CONFIG: "c.json" }, [], () => file);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(7);
    }
  });
});
