import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/logger.ts";
import { effectiveBaseUrl } from "../../src/providers/provider-registry.ts";
import type { ProviderRecord, ProviderType } from "../../src/providers/provider.ts";
import { createDeploymentHealth, type DeploymentHealth } from "../../src/routing/deployment-health.ts";
import { startHealthProbes } from "../../src/routing/health-probes.ts";
import type { Deployment } from "../../src/routing/model-router.ts";
import { createUpstreamClient, type UpstreamClient } from "../../src/upstream/upstream-client.ts";

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/** A model listing upstream: paths under /down answer 500, the rest 200. */
function startUpstream(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    if (req.url?.startsWith("/down")) {
      res.writeHead(500, { "content-type": "application/json" }).end('{"error":{"message":"boom"}}');
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end('{"object":"list","data":[{"id":"m","object":"model","created":0,"owned_by":"x"}]}');
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen })),
  );
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function provider(name: string, type: ProviderType, baseUrl: string, apiKey: string): ProviderRecord {
  return { name, type, baseUrl, apiKey, modelNames: [], dropUnsupportedParams: false, createTime: new Date(0), updateTime: new Date(0) };
}

function deployment(p: ProviderRecord, model: string): Deployment {
  return { id: `${p.name}/${model}`, provider: p, baseUrl: effectiveBaseUrl(p.type, p.baseUrl), model, weight: 1, rpm: undefined, tpm: undefined, supportsPrefill: false, declared: true };
}

describe("health probes", () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let client: UpstreamClient;
  let health: DeploymentHealth;
  let probes: [string, boolean][];
  let logs: string[];
  const logger = createLogger({ level: "debug", write: (line) => void logs.push(line) });

  beforeAll(async () => {
    upstream = await startUpstream();
    client = createUpstreamClient({ connectMs: 1000, firstByteMs: 1000, idleMs: 1000, totalMs: 2000 });
  });
  afterAll(async () => {
    await client.destroy();
    await new Promise((resolve) => upstream.server.close(resolve));
  });
  beforeEach(() => {
    upstream.seen.length = 0;
    probes = [];
    logs = [];
    // One failure opens a circuit, so a failed probe shows at once.
    const real = createDeploymentHealth({ failureThreshold: 1, cooldownMs: 60_000, maxCooldownMs: 60_000 });
    health = { ...real, probed: (d, ok) => (probes.push([d.id, ok]), real.probed(d, ok)) };
  });

  const start = (deployments: Deployment[], intervalMs = 0) => startHealthProbes({ deployments: () => deployments, health, upstream: client, logger, intervalMs });

  it("marks every deployment of a provider that lists its models as healthy, and lets its open circuit try at once", async () => {
    const p = provider("up", "openai", `${upstream.url}/ok/v1`, "sk-up-123");
    const ds = [deployment(p, "m1"), deployment(p, "m2")];
    health.started(ds[0] as Deployment);
    health.failed(ds[0] as Deployment, "upstream_error");
    expect(health.availability(ds[0] as Deployment).ok).toBe(false);
    await start(ds).runOnce();
    expect(probes).toEqual([
      ["up/m1", true],
      ["up/m2", true],
    ]);
    expect(health.availability(ds[0] as Deployment)).toEqual({ ok: true });
    // One model listing per provider, whatever its number of deployments.
    expect(upstream.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /ok/v1/models"]);
  });

  it("counts a 500 from the model listing as a failure of each of the provider's deployments", async () => {
    const p = provider("sick", "openai", `${upstream.url}/down/v1`, "sk-sick-456");
    const ds = [deployment(p, "m1"), deployment(p, "m2")];
    await start(ds).runOnce();
    expect(probes).toEqual([
      ["sick/m1", false],
      ["sick/m2", false],
    ]);
    for (const d of ds) expect(health.availability(d)).toMatchObject({ ok: false, reason: "cooldown" });
    expect(health.status(ds, () => [])[0]).toMatchObject({ state: "open", lastError: "probe_failed" });
  });

  it("counts an upstream that refuses the connection as a failure", async () => {
    const p = provider("gone", "openai", `http://127.0.0.1:${await closedPort()}`, "sk-gone");
    await start([deployment(p, "m")]).runOnce();
    expect(probes).toEqual([["gone/m", false]]);
  });

  it("probes every provider in one run and logs the failed ones by name, never their key", async () => {
    const ok = provider("ok", "openai", `${upstream.url}/ok/v1`, "sk-secret-ok");
    const down = provider("down", "openai", `${upstream.url}/down/v1`, "sk-secret-down");
    await start([deployment(ok, "m"), deployment(down, "m")]).runOnce();
    expect(new Map(probes)).toEqual(
      new Map([
        ["ok/m", true],
        ["down/m", false],
      ]),
    );
    expect(logs).toHaveLength(1);
    expect(JSON.parse(logs[0] as string)).toMatchObject({ level: "warn", msg: "health probe failed", provider: "down" });
    expect(logs.join("")).not.toContain("sk-secret");
  });

  it("sends an OpenAI-type provider's key as Authorization: Bearer", async () => {
    await start([deployment(provider("o", "openai", `${upstream.url}/ok/v1`, "sk-openai-key"), "gpt")]).runOnce();
    const [seen] = upstream.seen;
    expect(seen?.path).toBe("/ok/v1/models");
    expect(seen?.headers.authorization).toBe("Bearer sk-openai-key");
    expect(seen?.headers["x-api-key"]).toBeUndefined();
  });

  it("sends an Anthropic provider's key as x-api-key with the API version, on /v1/models", async () => {
    await start([deployment(provider("a", "anthropic", upstream.url, "sk-ant-key"), "claude")]).runOnce();
    const [seen] = upstream.seen;
    expect(seen?.path).toBe("/v1/models");
    expect(seen?.headers["x-api-key"]).toBe("sk-ant-key");
    expect(seen?.headers["anthropic-version"]).toBe("2023-06-01");
    expect(seen?.headers.authorization).toBeUndefined();
    expect(probes).toEqual([["a/claude", true]]);
  });

  it("sends a Gemini provider's key as x-goog-api-key, on /v1beta/models", async () => {
    await start([deployment(provider("g", "gemini", upstream.url, "AIza-gemini-key"), "gemini-pro")]).runOnce();
    const [seen] = upstream.seen;
    expect(seen?.path).toBe("/v1beta/models");
    expect(seen?.headers["x-goog-api-key"]).toBe("AIza-gemini-key");
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.path).not.toContain("key=");
  });

  it("sends no credentials for a provider without a key", async () => {
    await start([deployment(provider("local", "openai", `${upstream.url}/ok/v1`, ""), "llama")]).runOnce();
    expect(upstream.seen[0]?.headers.authorization).toBeUndefined();
  });

  it("probes nothing when there are no deployments", async () => {
    await start([]).runOnce();
    expect(upstream.seen).toEqual([]);
    expect(probes).toEqual([]);
  });

  it("probes on its interval until stopped", async () => {
    const probesRunning = start([deployment(provider("tick", "openai", `${upstream.url}/ok/v1`, ""), "m")], 10);
    const deadline = Date.now() + 150;
    while (upstream.seen.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    probesRunning.stop();
    expect(upstream.seen.length).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 15)); // a probe under way when stopped may still land
    const after = upstream.seen.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(upstream.seen.length).toBe(after);
  });
});
