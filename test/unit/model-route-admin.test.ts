import { describe, expect, it } from "vitest";
import { createModelRouteAdmin, modelRouteJson } from "../../src/admin/model-route-admin.ts";
import type { ModelRouteInput, ModelRouteRecord } from "../../src/routing/model-route.ts";
import { openDatabase } from "../../src/store/database.ts";
import { createSqliteModelRouteStore } from "../../src/store/sqlite-model-route-store.ts";

const PROVIDERS = new Set(["openai", "azure", "groq"]);

/** An admin over a fresh in-memory database, a fixed provider list and a clock that ticks a second per call. */
function setup() {
  const store = createSqliteModelRouteStore(openDatabase(":memory:"));
  let changes = 0;
  let tick = Date.UTC(2025, 0, 1);
  const admin = createModelRouteAdmin({
    store,
    providerExists: async (name) => PROVIDERS.has(name),
    onChange: async () => {
      changes++;
    },
    now: () => new Date((tick += 1000)),
  });
  return { store, admin, changes: () => changes };
}

const two = [
  { provider: "openai", model: "gpt-4o" },
  { provider: "azure", model: "gpt-4o-eu", weight: 3, rpm: 600, tpm: 90_000, supports_prefill: true },
];

describe("the model route admin", () => {
  it("creates a route with defaults filled in, and shows it in snake_case with null for what is unset", async () => {
    const { admin, changes } = setup();
    const created = await admin.create({ name: "gpt-4o", deployments: two });

    expect(changes()).toBe(1);
    expect(modelRouteJson(created)).toEqual({
      name: "gpt-4o",
      strategy: null,
      deployments: [
        { provider: "openai", model: "gpt-4o", weight: 1, rpm: null, tpm: null, supports_prefill: false },
        { provider: "azure", model: "gpt-4o-eu", weight: 3, rpm: 600, tpm: 90_000, supports_prefill: true },
      ],
      fallbacks: [],
      first_token_timeout_ms: null,
      stall_timeout_ms: null,
      continue_on_failure: false,
      create_time: "2025-01-01T00:00:01.000Z",
      update_time: "2025-01-01T00:00:01.000Z",
    });
    expect(await admin.get("gpt-4o")).toEqual(created);
    expect((await admin.list()).map((r) => r.name)).toEqual(["gpt-4o"]);
  });

  it("accepts every balancing strategy, and names with a slash", async () => {
    const { admin } = setup();
    for (const strategy of ["round-robin", "weighted", "least-busy", "lowest-latency", "lowest-cost"]) {
      const r = await admin.create({ name: `meta-llama/Llama-3-70b-${strategy}`, strategy, deployments: [{ provider: "groq", model: "llama3-70b" }] });
      expect(r.strategy).toBe(strategy);
    }
  });

  const valid: ModelRouteInput = { name: "m", deployments: [{ provider: "openai", model: "gpt-4o" }] };
  const deployments = (...ds: unknown[]) => ({ ...valid, deployments: ds });

  it.each<[string, ModelRouteInput, string]>([
    ["an unknown field", { ...valid, colour: "blue" } as ModelRouteInput, "colour"],
    ["no name", { deployments: valid.deployments }, "name"],
    ["an empty name", { ...valid, name: "" }, "name"],
    ["a name with whitespace", { ...valid, name: "gpt 4o" }, "name"],
    ["a name over 256 characters", { ...valid, name: "m".repeat(257) }, "name"],
    ["a name that is not a string", { ...valid, name: 42 }, "name"],
    ["an unknown strategy", { ...valid, strategy: "random" }, "strategy"],
    ["no deployments", { name: "m" }, "deployments"],
    ["an empty deployment list", { ...valid, deployments: [] }, "deployments"],
    ["65 deployments", { ...valid, deployments: Array.from({ length: 65 }, (_, i) => ({ provider: "openai", model: `m${i}` })) }, "deployments"],
    ["a deployment that is not an object", deployments("openai/gpt-4o"), "deployments[0]"],
    ["a deployment with an unknown field", deployments({ provider: "openai", model: "gpt-4o" }, { provider: "azure", model: "x", region: "eu" }), "deployments[1].region"],
    ["a deployment without a provider", deployments({ model: "gpt-4o" }), "deployments[0].provider"],
    ["a deployment of a provider that does not exist", deployments({ provider: "openai", model: "gpt-4o" }, { provider: "nope", model: "gpt-4o" }), "deployments[1].provider"],
    ["a deployment with an empty model", deployments({ provider: "openai", model: "" }), "deployments[0].model"],
    ["a weight of 0", deployments({ provider: "openai", model: "a" }, { provider: "azure", model: "b", weight: 0 }), "deployments[1].weight"],
    ["a fractional weight", deployments({ provider: "openai", model: "a", weight: 1.5 }), "deployments[0].weight"],
    ["a weight given as a string", deployments({ provider: "openai", model: "a", weight: "2" }), "deployments[0].weight"],
    ["an rpm of 0", deployments({ provider: "openai", model: "a", rpm: 0 }), "deployments[0].rpm"],
    ["a negative tpm", deployments({ provider: "openai", model: "a", tpm: -5 }), "deployments[0].tpm"],
    ["supports_prefill that is not a boolean", deployments({ provider: "openai", model: "a", supports_prefill: "yes" }), "deployments[0].supports_prefill"],
    ["the same provider and model twice", deployments({ provider: "openai", model: "a" }, { provider: "azure", model: "a" }, { provider: "openai", model: "a" }), "deployments[2]"],
    ["fallbacks that are not a list", { ...valid, fallbacks: "gpt-4o-mini" }, "fallbacks"],
    ["nine fallbacks", { ...valid, fallbacks: Array.from({ length: 9 }, (_, i) => `f${i}`) }, "fallbacks"],
    ["an empty fallback", { ...valid, fallbacks: ["a", ""] }, "fallbacks[1]"],
    ["a fallback to the route itself", { ...valid, fallbacks: ["a", "m"] }, "fallbacks[1]"],
    ["a repeated fallback", { ...valid, fallbacks: ["a", "b", "a"] }, "fallbacks[2]"],
    ["a first-token timeout of 0", { ...valid, first_token_timeout_ms: 0 }, "first_token_timeout_ms"],
    ["a first-token timeout over an hour", { ...valid, first_token_timeout_ms: 3_600_001 }, "first_token_timeout_ms"],
    ["a fractional stall timeout", { ...valid, stall_timeout_ms: 2.5 }, "stall_timeout_ms"],
    ["continue_on_failure that is not a boolean", { ...valid, continue_on_failure: 1 }, "continue_on_failure"],
  ])("rejects %s with invalid_request naming %s", async (_what, input, param) => {
    const { admin, changes } = setup();
    const err = await admin.create(input).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(err).toMatchObject({ kind: "invalid_request", param });
    expect((err as Error).message.startsWith(`${param}: `)).toBe(true);
    expect(changes()).toBe(0);
    expect(await admin.list()).toEqual([]);
  });

  it("takes the bounds themselves: 64 deployments, 8 fallbacks, timeouts of 1 ms and an hour, a 256-character name", async () => {
    const { admin } = setup();
    const r = await admin.create({
      name: "m".repeat(256),
      deployments: Array.from({ length: 64 }, (_, i) => ({ provider: "openai", model: `m${i}` })),
      fallbacks: Array.from({ length: 8 }, (_, i) => `f${i}`),
      first_token_timeout_ms: 1,
      stall_timeout_ms: 3_600_000,
      strategy: null,
      continue_on_failure: null,
    });
    expect(r).toMatchObject({ strategy: undefined, firstTokenTimeoutMs: 1, stallTimeoutMs: 3_600_000, continueOnFailure: false });
    expect(r.deployments).toHaveLength(64);
  });

  it("refuses a second route of the same name with conflict", async () => {
    const { admin, changes } = setup();
    await admin.create(valid);
    await expect(admin.create(valid)).rejects.toMatchObject({ kind: "conflict", param: "name" });
    expect(changes()).toBe(1);
  });

  it("answers an unknown name with not_found and code model_route_not_found, on get, update and delete", async () => {
    const { admin } = setup();
    for (const call of [admin.get("nope"), admin.update("nope", { strategy: "weighted" }), admin.delete("nope")]) {
      await expect(call).rejects.toMatchObject({ kind: "not_found", openaiCode: "model_route_not_found" });
    }
  });
});

describe("a PATCH of a model route", () => {
  async function withRoute() {
    const s = setup();
    const created = await s.admin.create({
      name: "gpt-4o",
      strategy: "weighted",
      deployments: two,
      fallbacks: ["gpt-4o-mini"],
      first_token_timeout_ms: 5000,
      continue_on_failure: true,
    });
    return { ...s, created };
  }

  it("changes only the fields present, keeps the create time and moves the update time", async () => {
    const { admin, created, changes } = await withRoute();
    const patched = await admin.update("gpt-4o", { stall_timeout_ms: 10_000 });

    expect(patched).toEqual({ ...created, stallTimeoutMs: 10_000, updateTime: patched.updateTime });
    expect(patched.updateTime.getTime()).toBeGreaterThan(created.updateTime.getTime());
    expect(patched.createTime).toEqual(created.createTime);
    expect(await admin.get("gpt-4o")).toEqual(patched);
    expect(changes()).toBe(2);
  });

  it("resets a setting to its default when it is sent as null", async () => {
    const { admin } = await withRoute();
    const patched = await admin.update("gpt-4o", { strategy: null, first_token_timeout_ms: null, fallbacks: null, continue_on_failure: null });
    expect(patched).toMatchObject({ strategy: undefined, firstTokenTimeoutMs: undefined, fallbacks: [], continueOnFailure: false });
    expect(patched.deployments).toHaveLength(2);
  });

  it("replaces the deployment list whole, checking its providers", async () => {
    const { admin } = await withRoute();
    await expect(admin.update("gpt-4o", { deployments: [{ provider: "gone", model: "x" }] })).rejects.toMatchObject({ param: "deployments[0].provider" });
    const patched = await admin.update("gpt-4o", { deployments: [{ provider: "groq", model: "llama3-70b", weight: 2 }] });
    expect(patched.deployments).toEqual([{ provider: "groq", model: "llama3-70b", weight: 2, rpm: undefined, tpm: undefined, supportsPrefill: false }]);
  });

  it("accepts the name unchanged but refuses to rename, and validates the merged route", async () => {
    const { admin, created } = await withRoute();
    expect((await admin.update("gpt-4o", { name: "gpt-4o", strategy: "least-busy" })).strategy).toBe("least-busy");
    await expect(admin.update("gpt-4o", { name: "gpt-5" })).rejects.toMatchObject({ kind: "invalid_request", param: "name" });
    await expect(admin.update("gpt-4o", { fallbacks: ["gpt-4o"] })).rejects.toMatchObject({ param: "fallbacks[0]" });
    await expect(admin.update("gpt-4o", { colour: "blue" } as ModelRouteInput)).rejects.toMatchObject({ param: "colour" });
    expect((await admin.get("gpt-4o")).fallbacks).toEqual(created.fallbacks);
  });
});

describe("declaring a model route from the config file", () => {
  it("creates it when new and replaces it whole by name, keeping its create time", async () => {
    const { admin, changes } = setup();
    const first = await admin.declare({ name: "gpt-4o", strategy: "lowest-cost", deployments: two, fallbacks: ["x"] });
    const second = await admin.declare({ name: "gpt-4o", deployments: [{ provider: "groq", model: "g" }] });

    expect(changes()).toBe(2);
    expect(second).toMatchObject({ name: "gpt-4o", strategy: undefined, fallbacks: [], createTime: first.createTime });
    expect(second.deployments.map((d) => d.provider)).toEqual(["groq"]);
    expect(await admin.list()).toEqual([second]);
  });

  it("validates like create", async () => {
    const { admin } = setup();
    await expect(admin.declare({ name: "m", deployments: [{ provider: "nope", model: "x" }] })).rejects.toMatchObject({ param: "deployments[0].provider" });
    await expect(admin.declare({ deployments: [] })).rejects.toMatchObject({ param: "name" });
  });
});

describe("the SQLite model route store", () => {
  const record: ModelRouteRecord = {
    name: "meta-llama/Llama-3-70b",
    strategy: "lowest-latency",
    deployments: [
      { provider: "groq", model: "llama3-70b", weight: 2, rpm: 30, tpm: undefined, supportsPrefill: true },
      { provider: "openai", model: "x", weight: 1, rpm: undefined, tpm: 1000, supportsPrefill: false },
    ],
    fallbacks: ["a", "b"],
    firstTokenTimeoutMs: 1500,
    stallTimeoutMs: undefined,
    continueOnFailure: true,
    createTime: new Date("2025-01-01T00:00:00.000Z"),
    updateTime: new Date("2025-01-02T00:00:00.000Z"),
  };

  it("gives back exactly what it was given, absent values included", async () => {
    const store = createSqliteModelRouteStore(openDatabase(":memory:"));
    await store.create(record);
    expect(await store.get(record.name)).toEqual(record);
    const bare = { ...record, name: "a", strategy: undefined, fallbacks: [], firstTokenTimeoutMs: undefined, continueOnFailure: false };
    await store.create(bare);
    expect(await store.list()).toEqual([bare, record]);
  });

  it("refuses a taken name on create, replaces on put keeping the create time, and reports deletes", async () => {
    const store = createSqliteModelRouteStore(openDatabase(":memory:"));
    await store.create(record);
    await expect(store.create(record)).rejects.toMatchObject({ kind: "conflict" });
    await store.put({ ...record, strategy: undefined, createTime: new Date(0), updateTime: new Date("2025-02-01T00:00:00.000Z") });
    expect(await store.get(record.name)).toMatchObject({ strategy: undefined, createTime: record.createTime, updateTime: new Date("2025-02-01T00:00:00.000Z") });
    expect(await store.delete(record.name)).toBe(true);
    expect(await store.delete(record.name)).toBe(false);
    expect(await store.get(record.name)).toBeUndefined();
  });
});
