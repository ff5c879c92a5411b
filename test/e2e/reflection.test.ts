import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.ts";
import { ADMIN_KEY, startTestGateway } from "../support/test-gateway.ts";

const bin = join(fileURLToPath(new URL("../..", import.meta.url)), "node_modules", ".bin", "buf");

describe("gRPC reflection and health through buf curl", () => {
  let fake: FakeOpenAI;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  const buf = async (...args: string[]) => (await promisify(execFile)(bin, ["curl", "--http2-prior-knowledge", "--protocol", "grpc", ...args], { timeout: 20_000 })).stdout;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startTestGateway({ OPENAI_API_KEY: "sk-test-upstream", OPENAI_BASE_URL: fake.baseUrl });
  });
  afterAll(async () => {
    await gateway?.close();
    await fake?.close();
  });

  it.each(["grpc-v1", "grpc-v1alpha"])("lists every service through reflection (%s)", async (protocol) => {
    const out = await buf("--reflect-protocol", protocol, "--list-services", gateway.url);
    expect(out.trim().split("\n")).toEqual([
      "gateway.v1.ChatService",
      "gateway.v1.KeyAdminService",
      "gateway.v1.PricingAdminService",
      "gateway.v1.ProviderAdminService",
      "gateway.v1.RoutingAdminService",
      "gateway.v1.UsageService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  it("reports the server and its services as serving", async () => {
    expect(JSON.parse(await buf(`${gateway.url}/grpc.health.v1.Health/Check`))).toEqual({ status: "SERVING" });
    const one = await buf("-d", '{"service":"gateway.v1.ChatService"}', `${gateway.url}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(one)).toEqual({ status: "SERVING" });
    await expect(buf("-d", '{"service":"nope.Service"}', `${gateway.url}/grpc.health.v1.Health/Check`)).rejects.toThrow(/not_found|NotFound|not found/i);
  });

  it("manages providers through the admin service without the proto files, with the admin key only", async () => {
    const auth = ["-H", `Authorization: Bearer ${ADMIN_KEY}`];
    const created = JSON.parse(
      await buf(...auth, "-d", JSON.stringify({ provider: { name: "local", baseUrl: fake.baseUrl, apiKey: "sk-local-0123456789abcdefgh", modelNames: ["local-model"] } }), `${gateway.url}/gateway.v1.ProviderAdminService/CreateProvider`),
    );
    expect(created.provider).toMatchObject({ name: "local", type: "PROVIDER_TYPE_OPENAI", apiKey: "sk-...efgh", modelNames: ["local-model"] });
    const listed = JSON.parse(await buf(...auth, `${gateway.url}/gateway.v1.ProviderAdminService/ListProviders`));
    expect(listed.providers.map((p: { name: string }) => p.name)).toContain("local");
    await expect(buf(`${gateway.url}/gateway.v1.ProviderAdminService/ListProviders`)).rejects.toThrow(/unauthenticated/i);
  });

  it("streams a completion through reflection", async () => {
    const out = await buf(
      "-H", `Authorization: Bearer ${ADMIN_KEY}`,
      "-d", JSON.stringify({ model: "gpt-4o", messages: [{ role: "ROLE_USER", content: [{ text: "hi" }] }] }),
      `${gateway.url}/gateway.v1.ChatService/StreamChatCompletion`,
    );
    const events = out.trim().split(/\n(?=\{)/).map((e) => JSON.parse(e));
    expect(events[0]).toHaveProperty("start");
    expect(events.filter((e) => e.delta?.content).map((e) => e.delta.content).join("")).toBe("Hello there!");
    expect(events.at(-1)).toHaveProperty("finish");
  });
});
