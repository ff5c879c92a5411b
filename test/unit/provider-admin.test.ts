import { describe, expect, it } from "vitest";
import { createProviderAdmin, maskKey, nameFromBaseUrl } from "../../src/admin/provider-admin.ts";
import { openDatabase } from "../../src/store/database.ts";
import { createSqliteProviderStore } from "../../src/store/sqlite-provider-store.ts";
import { createModelRouter } from "../../src/routing/model-router.ts";

function admin() {
  const router = createModelRouter([]);
  return { router, admin: createProviderAdmin({ store: createSqliteProviderStore(openDatabase(":memory:")), router }) };
}

describe("provider admin", () => {
  it("derives a name from the host and makes it unique", async () => {
    expect(nameFromBaseUrl("https://api.newprovider.com")).toBe("newprovider");
    expect(nameFromBaseUrl("https://api.groq.com/openai/v1")).toBe("groq");
    expect(nameFromBaseUrl("http://127.0.0.1:8000/v1")).toBe("127-0-0-1");
    const { admin: a } = admin();
    expect((await a.create({ base_url: "https://api.newprovider.com" })).name).toBe("newprovider");
    expect((await a.create({ base_url: "https://api.newprovider.com" })).name).toBe("newprovider-2");
  });

  it("masks keys so that short keys show nothing of themselves", () => {
    expect(maskKey("new-provider-key")).toBe("****");
    expect(maskKey("sk-proj-abcdefghijklmnopqrstuvwxyz")).toBe("sk-...wxyz");
    expect(maskKey("")).toBe("");
  });

  it("applies a change to the router at once", async () => {
    const { admin: a, router } = admin();
    await a.create({ name: "p", base_url: "https://x.test", model_names: ["m1"] });
    expect(router.resolve("m1").deployments[0]?.provider.name).toBe("p");
    await a.update("p", { model_names: ["m2"] });
    expect(() => router.resolve("m1")).toThrow();
    await a.delete("p");
    expect(() => router.resolve("m2")).toThrow();
  });

  it("keeps the stored key when an update sends back its masked form", async () => {
    const { admin: a } = admin();
    const key = "sk-proj-abcdefghijklmnopqrstuvwxyz";
    await a.create({ name: "p", base_url: "https://x.test", api_key: key });
    await a.update("p", { api_key: maskKey(key), model_names: ["m"] });
    expect((await a.get("p")).apiKey).toBe(key);
  });

  it.each([
    [{ base_url: "ftp://x.test" }, "base_url"],
    [{ base_url: "https://user:pw@x.test" }, "base_url"],
    [{ base_url: "https://x.test", name: "Bad Name" }, "name"],
    [{ base_url: "https://x.test", type: "cohere" }, "type"],
    [{ base_url: "https://x.test", model_names: ["ok", ""] }, "model_names"],
    [{}, "base_url"],
  ])("rejects %j naming %s", async (input, param) => {
    await expect(admin().admin.create(input)).rejects.toMatchObject({ kind: "invalid_request", param });
  });

  it("refuses a second provider with the same name", async () => {
    const { admin: a } = admin();
    await a.create({ name: "p", base_url: "https://x.test" });
    await expect(a.create({ name: "p", base_url: "https://y.test" })).rejects.toMatchObject({ kind: "conflict" });
  });
});

describe("gateway response headers", () => {
  it("percent-encodes dropped parameter names, which come from the client", async () => {
    const { gatewayHeaders } = await import("../../src/http/chat-endpoint.ts");
    expect(gatewayHeaders({ provider: "anthropic", deployment: "anthropic/claude x", model: "m", attempts: 2, overheadMs: 3, dropped: ["logprobs", "ā\r\nx"] })).toEqual({
      "x-gateway-provider": "anthropic",
      "x-gateway-deployment": "anthropic/claude%20x",
      "x-gateway-attempts": "2",
      "x-gateway-overhead-ms": "3",
      "x-gateway-dropped-params": "logprobs,%C4%81%0D%0Ax",
    });
  });
});
