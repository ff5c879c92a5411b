import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BalancingStrategy, RoutingAdminService } from "../../gen/gateway/v1/routing_admin_pb.js";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

/** Calls the gateway with the admin key (or the given Authorization, or none for null) and reads the JSON answer. */
async function call(gateway: Gateway, method: string, path: string, body?: unknown, auth: string | null = `Bearer ${ADMIN_KEY}`) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(`${gateway.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: (text === "" ? undefined : JSON.parse(text)) as any };
}

/** The error a promise rejects with, or a failure when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

const withAdminKey: Interceptor = (next) => (req) => {
  req.header.set("authorization", `Bearer ${ADMIN_KEY}`);
  return next(req);
};

/** The shape of every OpenAI error answer. */
const openAIError = { error: { message: expect.any(String), type: expect.any(String), param: expect.toSatisfy((v) => v === null || typeof v === "string"), code: expect.toSatisfy((v) => v === null || typeof v === "string") } };

describe("the model route admin API", () => {
  let fake: FakeOpenAI;
  let gateway: Gateway;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startTestGateway({ OPENAI_API_KEY: "sk-upstream-routes-0123456789", OPENAI_BASE_URL: fake.baseUrl });
    const second = await call(gateway, "POST", "/v1/providers", { name: "second", base_url: fake.baseUrl, model_names: ["second-model"] });
    expect(second.status).toBe(201);
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });

  describe("over REST", () => {
    it("creates, reads, lists, patches and deletes a route whose name contains a slash, raw or percent-encoded", async () => {
      const created = await call(gateway, "POST", "/v1/model-routes", {
        name: "meta-llama/Llama-3-70b",
        strategy: "weighted",
        deployments: [
          { provider: "openai", model: "llama-3-70b" },
          { provider: "second", model: "llama3-70b-8192", weight: 3, rpm: 30, supports_prefill: true },
        ],
        fallbacks: ["gpt-4o-mini"],
        first_token_timeout_ms: 5000,
      });
      expect(created.status).toBe(201);
      expect(created.json).toEqual({
        name: "meta-llama/Llama-3-70b",
        strategy: "weighted",
        deployments: [
          { provider: "openai", model: "llama-3-70b", weight: 1, rpm: null, tpm: null, supports_prefill: false },
          { provider: "second", model: "llama3-70b-8192", weight: 3, rpm: 30, tpm: null, supports_prefill: true },
        ],
        fallbacks: ["gpt-4o-mini"],
        first_token_timeout_ms: 5000,
        stall_timeout_ms: null,
        continue_on_failure: false,
        create_time: expect.any(String),
        update_time: expect.any(String),
      });

      expect(await call(gateway, "GET", "/v1/model-routes/meta-llama%2FLlama-3-70b")).toEqual({ status: 200, json: created.json });
      expect(await call(gateway, "GET", "/v1/model-routes/meta-llama/Llama-3-70b")).toEqual({ status: 200, json: created.json });
      const listed = await call(gateway, "GET", "/v1/model-routes");
      expect(listed.json.object).toBe("list");
      expect(listed.json.data).toContainEqual(created.json);

      const patched = await call(gateway, "PATCH", "/v1/model-routes/meta-llama%2FLlama-3-70b", { strategy: null, stall_timeout_ms: 20_000 });
      expect(patched.status).toBe(200);
      expect(patched.json).toMatchObject({ strategy: null, stall_timeout_ms: 20_000, first_token_timeout_ms: 5000, fallbacks: ["gpt-4o-mini"] });
      expect(patched.json.create_time).toBe(created.json.create_time);

      const deleted = await call(gateway, "DELETE", "/v1/model-routes/meta-llama/Llama-3-70b");
      expect(deleted).toEqual({ status: 200, json: { name: "meta-llama/Llama-3-70b", object: "model_route", deleted: true } });
      const gone = await call(gateway, "GET", "/v1/model-routes/meta-llama%2FLlama-3-70b");
      expect(gone.status).toBe(404);
      expect(gone.json).toMatchObject({ error: { code: "model_route_not_found" } });
    });

    it.each([
      ["a provider that does not exist", { name: "r1", deployments: [{ provider: "openai", model: "a" }, { provider: "nope", model: "b" }] }, "deployments[1].provider"],
      ["a weight of zero", { name: "r2", deployments: [{ provider: "openai", model: "a", weight: 0 }] }, "deployments[0].weight"],
      ["an unknown deployment field", { name: "r3", deployments: [{ provider: "openai", model: "a", region: "eu" }] }, "deployments[0].region"],
      ["an unknown field", { name: "r4", deployments: [{ provider: "openai", model: "a" }], colour: "blue" }, "colour"],
      ["an unknown strategy", { name: "r5", strategy: "random", deployments: [{ provider: "openai", model: "a" }] }, "strategy"],
      ["a fallback to itself", { name: "r6", deployments: [{ provider: "openai", model: "a" }], fallbacks: ["r6"] }, "fallbacks[0]"],
    ])("rejects %s with a 400 that names the field", async (_what, body, param) => {
      const res = await call(gateway, "POST", "/v1/model-routes", body);
      expect(res.status).toBe(400);
      expect(res.json).toEqual(openAIError);
      expect(res.json.error).toMatchObject({ type: "invalid_request_error", param });
      expect(res.json.error.message).toContain(param);
    });

    it("answers a second route of the same name with 409, and a PATCH that renames with 400", async () => {
      const body = { name: "dup", deployments: [{ provider: "openai", model: "gpt-4o" }] };
      expect((await call(gateway, "POST", "/v1/model-routes", body)).status).toBe(201);
      expect((await call(gateway, "POST", "/v1/model-routes", body)).status).toBe(409);
      const renamed = await call(gateway, "PATCH", "/v1/model-routes/dup", { name: "other" });
      expect(renamed.status).toBe(400);
      expect(renamed.json.error.param).toBe("name");
      expect((await call(gateway, "DELETE", "/v1/model-routes/dup")).status).toBe(200);
    });

    it("refuses every route without the admin key with a 401, and changes nothing", async () => {
      const body = { name: "secret", deployments: [{ provider: "openai", model: "gpt-4o" }] };
      const answers = [
        await call(gateway, "POST", "/v1/model-routes", body, null),
        await call(gateway, "POST", "/v1/model-routes", body, "Bearer not-the-admin-key"),
        await call(gateway, "GET", "/v1/model-routes", undefined, null),
        await call(gateway, "GET", "/v1/model-routes/secret", undefined, null),
        await call(gateway, "PATCH", "/v1/model-routes/secret", { strategy: "weighted" }, null),
        await call(gateway, "DELETE", "/v1/model-routes/secret", undefined, null),
        await call(gateway, "GET", "/v1/deployments", undefined, null),
      ];
      for (const res of answers) {
        expect(res.status).toBe(401);
        expect(res.json).toEqual(openAIError);
      }
      expect((await call(gateway, "GET", "/v1/model-routes/secret")).status).toBe(404);
    });

    it("lists deployment state", async () => {
      const res = await call(gateway, "GET", "/v1/deployments");
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ object: "list", data: expect.any(Array) });
      for (const d of res.json.data) {
        expect(Object.keys(d).sort()).toEqual(
          ["consecutive_failures", "cooldown_until", "id", "in_flight", "last_error", "last_probe_time", "latency_ms", "model", "provider", "served_as", "state"].sort(),
        );
      }
    });
  });

  describe.each([
    ["Connect over HTTP/1.1", (baseUrl: string, interceptors: Interceptor[]) => createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors })],
    ["gRPC over HTTP/2", (baseUrl: string, interceptors: Interceptor[]) => createGrpcTransport({ baseUrl, interceptors })],
  ])("over %s", (label, makeTransport) => {
    const prefix = label.startsWith("gRPC") ? "grpc" : "connect";
    let admin: ReturnType<typeof createClient<typeof RoutingAdminService>>;
    let anonymous: ReturnType<typeof createClient<typeof RoutingAdminService>>;

    beforeAll(() => {
      admin = createClient(RoutingAdminService, makeTransport(gateway.url, [withAdminKey]));
      anonymous = createClient(RoutingAdminService, makeTransport(gateway.url, []));
    });

    it("creates, gets, pages, updates with a field mask and deletes routes", async () => {
      const name = `${prefix}/llama-3`;
      const { modelRoute } = await admin.createModelRoute({
        modelRoute: {
          name,
          strategy: BalancingStrategy.LEAST_BUSY,
          deployments: [
            { provider: "openai", model: "llama-3" },
            { provider: "second", model: "llama-3-b", weight: 2, tpm: 50_000, supportsPrefill: true },
          ],
          fallbacks: ["gpt-4o"],
          stallTimeoutMs: 15_000,
        },
      });
      expect(modelRoute).toMatchObject({
        name,
        strategy: BalancingStrategy.LEAST_BUSY,
        deployments: [
          { provider: "openai", model: "llama-3", weight: 1, supportsPrefill: false },
          { provider: "second", model: "llama-3-b", weight: 2, tpm: 50_000, supportsPrefill: true },
        ],
        fallbacks: ["gpt-4o"],
        stallTimeoutMs: 15_000,
        continueOnFailure: false,
      });
      expect(modelRoute?.deployments[0]?.rpm).toBeUndefined();
      expect(modelRoute?.firstTokenTimeoutMs).toBeUndefined();
      expect(modelRoute?.createTime).toBeDefined();

      expect((await admin.getModelRoute({ name })).modelRoute).toEqual(modelRoute);
      await admin.createModelRoute({ modelRoute: { name: `${prefix}/other`, deployments: [{ provider: "openai", model: "x" }] } });
      const first = await admin.listModelRoutes({ pageSize: 1 });
      expect(first.modelRoutes).toHaveLength(1);
      expect(first.nextPageToken).not.toBe("");
      const rest = await admin.listModelRoutes({ pageToken: first.nextPageToken });
      expect([...first.modelRoutes, ...rest.modelRoutes].map((r) => r.name)).toEqual(expect.arrayContaining([name, `${prefix}/other`]));

      const updated = await admin.updateModelRoute({
        modelRoute: { name, strategy: BalancingStrategy.UNSPECIFIED, continueOnFailure: true, fallbacks: ["ignored"] },
        updateMask: { paths: ["strategy", "continue_on_failure", "stall_timeout_ms"] },
      });
      expect(updated.modelRoute).toMatchObject({ strategy: BalancingStrategy.UNSPECIFIED, continueOnFailure: true, fallbacks: ["gpt-4o"] });
      expect(updated.modelRoute?.stallTimeoutMs).toBeUndefined();
      expect(updated.modelRoute?.deployments).toHaveLength(2);

      const unmasked = await admin.updateModelRoute({ modelRoute: { name, firstTokenTimeoutMs: 2500 } });
      expect(unmasked.modelRoute).toMatchObject({ firstTokenTimeoutMs: 2500, continueOnFailure: true });

      await admin.deleteModelRoute({ name });
      await admin.deleteModelRoute({ name: `${prefix}/other` });
      expect((await rejection(admin.getModelRoute({ name }))).code).toBe(Code.NotFound);
    });

    it("answers invalid input with InvalidArgument naming the field, a taken name with AlreadyExists, and no admin key with Unauthenticated", async () => {
      const bad = await rejection(admin.createModelRoute({ modelRoute: { name: `${prefix}-bad`, deployments: [{ provider: "openai", model: "a" }, { provider: "missing", model: "b" }] } }));
      expect(bad.code).toBe(Code.InvalidArgument);
      expect(bad.rawMessage).toMatch(/^deployments\[1\]\.provider: /);
      const weight = await rejection(admin.createModelRoute({ modelRoute: { name: `${prefix}-bad`, deployments: [{ provider: "openai", model: "a", weight: -1 }] } }));
      expect(weight.rawMessage).toMatch(/^deployments\[0\]\.weight: /);
      const mask = await rejection(admin.updateModelRoute({ modelRoute: { name: "x" }, updateMask: { paths: ["name"] } }));
      expect(mask.code).toBe(Code.InvalidArgument);

      const route = { name: `${prefix}-taken`, deployments: [{ provider: "openai", model: "a" }] };
      await admin.createModelRoute({ modelRoute: route });
      expect((await rejection(admin.createModelRoute({ modelRoute: route }))).code).toBe(Code.AlreadyExists);
      await admin.deleteModelRoute({ name: route.name });

      for (const attempt of [anonymous.listModelRoutes({}), anonymous.createModelRoute({ modelRoute: route }), anonymous.listDeployments({})]) {
        expect((await rejection(attempt)).code).toBe(Code.Unauthenticated);
      }
      expect((await rejection(admin.getModelRoute({ name: route.name }))).code).toBe(Code.NotFound);
    });

    it("lists deployments", async () => {
      const res = await admin.listDeployments({});
      expect(Array.isArray(res.deployments)).toBe(true);
    });
  });

  it("keeps a route across a restart when GATEWAY_DB_PATH is a file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gateway-model-routes-"));
    const env = { OPENAI_API_KEY: "sk-upstream-routes-0123456789", OPENAI_BASE_URL: fake.baseUrl, GATEWAY_DB_PATH: join(dir, "gateway.db") };
    try {
      const first = await startTestGateway(env);
      let created;
      try {
        created = await call(first, "POST", "/v1/model-routes", { name: "durable/route", deployments: [{ provider: "openai", model: "gpt-4o", rpm: 10 }] });
        expect(created.status).toBe(201);
      } finally {
        await first.close();
      }
      const second = await startTestGateway(env);
      try {
        expect(await call(second, "GET", "/v1/model-routes/durable%2Froute")).toEqual({ status: 200, json: created.json });
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("is listed by gRPC reflection and answers buf curl without the proto files", async () => {
    const bin = join(fileURLToPath(new URL("../..", import.meta.url)), "node_modules", ".bin", "buf");
    const buf = async (...args: string[]) => (await promisify(execFile)(bin, ["curl", "--http2-prior-knowledge", "--protocol", "grpc", ...args], { timeout: 20_000 })).stdout;

    expect((await buf("--list-services", gateway.url)).trim().split("\n")).toContain("gateway.v1.RoutingAdminService");
    const methods = (await buf("--list-methods", gateway.url)).trim().split("\n");
    expect(methods).toEqual(expect.arrayContaining(["gateway.v1.RoutingAdminService/CreateModelRoute", "gateway.v1.RoutingAdminService/ListDeployments"]));
    const auth = ["-H", `Authorization: Bearer ${ADMIN_KEY}`];
    const created = JSON.parse(
      await buf(...auth, "-d", JSON.stringify({ modelRoute: { name: "reflected", strategy: "BALANCING_STRATEGY_ROUND_ROBIN", deployments: [{ provider: "openai", model: "gpt-4o" }] } }), `${gateway.url}/gateway.v1.RoutingAdminService/CreateModelRoute`),
    );
    expect(created.modelRoute).toMatchObject({ name: "reflected", strategy: "BALANCING_STRATEGY_ROUND_ROBIN", deployments: [{ provider: "openai", model: "gpt-4o", weight: 1 }] });
    await buf(...auth, "-d", '{"name":"reflected"}', `${gateway.url}/gateway.v1.RoutingAdminService/DeleteModelRoute`);
  });
});
