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
