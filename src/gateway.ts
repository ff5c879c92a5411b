import { randomBytes } from "node:crypto";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { file_gateway_v1_chat } from "../gen/gateway/v1/chat_pb.js";
import { file_gateway_v1_key_admin } from "../gen/gateway/v1/key_admin_pb.js";
import { file_gateway_v1_pricing_admin } from "../gen/gateway/v1/pricing_admin_pb.js";
import { file_gateway_v1_provider_admin } from "../gen/gateway/v1/provider_admin_pb.js";
import { file_gateway_v1_routing_admin } from "../gen/gateway/v1/routing_admin_pb.js";
import { file_gateway_v1_usage } from "../gen/gateway/v1/usage_pb.js";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createAdminAuth, createAdminDigestTest } from "./admin/admin-auth.ts";
import { createModelRouteAdmin } from "./admin/model-route-admin.ts";
import { createProviderAdmin } from "./admin/provider-admin.ts";
import { createMemoryBudgetTracker } from "./billing/budget-tracker.ts";
import { createSqlitePriceStore } from "./billing/price-store.ts";
import { createPricing } from "./billing/pricing.ts";
import { createChatEngine } from "./chat/chat-engine.ts";
import { ConfigError, type GatewayConfig } from "./config/config.ts";
import { createChatEndpoint } from "./http/chat-endpoint.ts";
import { keyRoutes } from "./http/key-routes.ts";
import { modelRouteRoutes } from "./http/model-route-routes.ts";
import { openaiRoutes } from "./http/openai-routes.ts";
import { priceRoutes } from "./http/price-routes.ts";
import { providerRoutes } from "./http/provider-routes.ts";
import { createRestHandler } from "./http/rest-handler.ts";
import { usageRoutes } from "./http/usage-routes.ts";
import { createKeyService } from "./keys/key-service.ts";
import { createSqliteKeyStore } from "./keys/sqlite-key-store.ts";
import { createMemoryRateLimiter } from "./limits/rate-limiter.ts";
import { createLogger, type Logger } from "./log/logger.ts";
import { createMetrics, type GatewayMetrics } from "./metrics/metrics.ts";
import { createModelLabels } from "./metrics/model-labels.ts";
import { builtinProviders, createAdapters, isSupportedType, providerTypes } from "./providers/provider-registry.ts";
import type { ProviderType } from "./providers/provider.ts";
import { createBalancer } from "./routing/balancer.ts";
import { createDeploymentHealth } from "./routing/deployment-health.ts";
import { createDeploymentLimits } from "./routing/deployment-limits.ts";
import { startHealthProbes } from "./routing/health-probes.ts";
import type { CircuitState, DeploymentStatusSource } from "./routing/model-route.ts";
import { createModelRouter, type Deployment } from "./routing/model-router.ts";
import { registerChatService } from "./rpc/chat-service.ts";
import { createHealthState, registerHealth } from "./rpc/health-service.ts";
import { registerKeyAdminService } from "./rpc/key-admin-service.ts";
import { registerPricingAdminService } from "./rpc/pricing-admin-service.ts";
import { registerProviderAdminService } from "./rpc/provider-admin-service.ts";
import { registerReflection } from "./rpc/reflection-service.ts";
import { registerRoutingAdminService } from "./rpc/routing-admin-service.ts";
import { registerUsageService } from "./rpc/usage-service.ts";
import { startGatewayServer, type GatewayServer } from "./server/gateway-server.ts";
import { openDatabase } from "./store/database.ts";
import { createSqliteModelRouteStore } from "./store/sqlite-model-route-store.ts";
import { createSqliteProviderStore } from "./store/sqlite-provider-store.ts";
import { createAccounting } from "./usage/accounting.ts";
import { openJournaledLedger } from "./usage/journaled-ledger.ts";
import { createSqliteUsageLedger } from "./usage/sqlite-usage-ledger.ts";
import type { UsageLedger } from "./usage/usage-ledger.ts";
import { createTokenCounter } from "./usage/token-counter.ts";
import { createImageFetcher } from "./upstream/image-fetcher.ts";
import { createUpstreamClient } from "./upstream/upstream-client.ts";

/** A running gateway. */
export interface Gateway {
  readonly server: GatewayServer;
  /** Base URL of the bound server, such as http://127.0.0.1:8080. */
  readonly url: string;
  /** The admin key in force (generated when the config has none). */
  readonly adminKey: string;
  readonly metrics: GatewayMetrics;
  /** Drains in-flight requests (up to the configured bound) and releases everything. */
  close(): Promise<void>;
}

/** The gateway's own gRPC services, for reflection and health. */
const FILES = [file_gateway_v1_chat, file_gateway_v1_provider_admin, file_gateway_v1_key_admin, file_gateway_v1_usage, file_gateway_v1_pricing_admin, file_gateway_v1_routing_admin];
const SERVICES = FILES.flatMap((f) => f.services.map((s) => s.typeName));
/** `gateway_deployment_state` values. */
const CIRCUIT_GAUGE: Record<CircuitState, number> = { closed: 0, "half-open": 1, open: 2 };

/**
 * Wires the gateway from its configuration and starts serving. The one
 * composition root: every component is created here and handed its
 * dependencies. `options.ledger` replaces the embedded usage ledger (the
 * ledger benchmark compares against one that keeps nothing).
 */
export async function startGateway(config: GatewayConfig, options: { logger?: Logger; ledger?: UsageLedger } = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const adminKey = config.adminKey ?? randomBytes(24).toString("base64url");
  if (config.adminKey === undefined) {
    logger.warn("GATEWAY_ADMIN_KEY is not set; generated an admin key for this run", { admin_key: adminKey });
  }

  // Stores: the embedded database by default.
  const db = openDatabase(config.dbPath);
  const router = createModelRouter(builtinProviders.flatMap((b) => b.patterns.map((pattern) => ({ pattern, provider: b.name }))));
  const admin = createProviderAdmin({ store: createSqliteProviderStore(db), router });
  const routeStore = createSqliteModelRouteStore(db);
  const reloadRouting = async () => router.loadRoutes(await routeStore.list());
  const metrics = createMetrics(() => deploymentStatus.list().map((d) => ({ provider: d.provider, model: labels.of(d.model, true), value: CIRCUIT_GAUGE[d.state] })));
  const labels = createModelLabels();
  const deploymentLabels = (d: Deployment) => ({ provider: d.provider.name, model: labels.of(d.model, d.declared) });
  const deploymentHealth = createDeploymentHealth(config.circuit, {
    onCooldown: (d) => metrics.cooldowns.inc(deploymentLabels(d)),
  });
  const deploymentStatus: DeploymentStatusSource = {
    list: () => {
      const models = router.list();
      const servedAs = (d: Deployment) => models.filter((m) => m.deployments.some((x) => x.provider === d.provider.name && x.model === d.model)).map((m) => m.id);
      return deploymentHealth.status(router.deployments(), servedAs);
    },
  };
  const routeAdmin = createModelRouteAdmin({
    store: routeStore,
    providerExists: async (name) => (await admin.list()).some((p) => p.name === name),
    onChange: reloadRouting,
  });
  for (const p of config.providers) {
    if (typeof p.type === "string" && p.type in providerTypes && !isSupportedType(p.type as ProviderType)) {
      logger.warn("provider type not supported by this version; provider skipped", { provider: p.name, type: p.type });
      continue;
    }
    await admin.declare(p).catch((err: Error) => Promise.reject(new ConfigError([`providers (${String(p.name)}): ${err.message}`])));
  }
  await admin.reload();
  for (const [i, m] of config.models.entries()) {
    await routeAdmin.declare(m).catch((err: Error) => Promise.reject(new ConfigError([`models[${i}] (${String(m.name)}): ${err.message}`])));
  }
  await reloadRouting();
  const pricing = createPricing({ store: createSqlitePriceStore(db) });
  for (const p of config.prices) await pricing.set(p);
  await pricing.reload();
  // A file database gets the journaled ledger (no SQLite write on the request path); ":memory:" cannot be shared with a writer thread.
  const journaled = options.ledger || config.dbPath === ":memory:" ? undefined : openJournaledLedger({ dbPath: config.dbPath, db, logger });
  const ledger = options.ledger ?? journaled ?? createSqliteUsageLedger(db);
  const budgets = createMemoryBudgetTracker({ ledger });
  const isAdminDigest = createAdminDigestTest(adminKey);
  const checkAdmin = createAdminAuth(adminKey);
  const keys = createKeyService({ store: createSqliteKeyStore(db), isAdminDigest });

  // The request path: engine, adapters, accounting, routing.
  const upstream = createUpstreamClient(config.upstream, config.upstreamMaxConnections);
  const tokens = createTokenCounter();
  const fetchImage = createImageFetcher(config.imageFetch);
  const adapters = createAdapters({ upstream, defaultMaxTokens: config.defaultMaxTokens, fetchImage });
  const limiter = createMemoryRateLimiter();
  const accounting = createAccounting({ ledger, pricing, budgets, limiter, tokens, metrics, defaultMaxTokens: config.defaultMaxTokens });
  const balancer = createBalancer({
    inFlight: deploymentHealth.inFlight,
    latencyMs: deploymentHealth.latencyMs,
    pricePerMtok: (d) => {
      const price = pricing.priceFor(d.provider.name, d.model);
      return price && price.input + price.output;
    },
  });
  const engine = createChatEngine({
    router,
    adapters,
    accounting,
    metrics,
    labels,
    logger,
    health: deploymentHealth,
    balancer,
    limits: createDeploymentLimits(limiter),
    routing: config.routing,
  });
  const probes = startHealthProbes({ deployments: router.deployments, health: deploymentHealth, upstream, logger, intervalMs: config.probeIntervalMs });
  /** Whether any deployment can serve (true when the gateway knows none by name: patterns may still route). */
  const canServe = () => {
    const all = router.deployments();
    return all.length === 0 || all.some((d) => deploymentHealth.availability(d).ok);
  };

  // Surfaces: Connect/gRPC services and REST routes on one handler.
  const health = createHealthState();
  let server: GatewayServer | undefined;
  const routes = (r: ConnectRouter) => {
    registerChatService(r, { engine, models: router, keys });
    registerProviderAdminService(r, { admin, checkAdmin });
    registerRoutingAdminService(r, { admin: routeAdmin, deployments: deploymentStatus, checkAdmin });
    registerKeyAdminService(r, { keys, budgets, checkAdmin });
    registerUsageService(r, { ledger, keys, budgets, checkAdmin });
    registerPricingAdminService(r, { pricing, checkAdmin });
    registerHealth(r, health);
    registerReflection(r, [...FILES, file_grpc_health_v1_health, file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection]);
  };
  const maxBodyBytes = config.maxBodyBytes;
  const rest = createRestHandler([
    ...openaiRoutes({
      chat: createChatEndpoint({ engine, keys, maxBodyBytes }),
      router,
      metrics,
      ready: () => (server === undefined || server.draining ? "draining" : canServe() ? "ready" : "unavailable"),
    }),
    ...providerRoutes({ admin, checkAdmin, maxBodyBytes }),
    ...modelRouteRoutes({ admin: routeAdmin, deployments: deploymentStatus, checkAdmin, maxBodyBytes }),
    ...keyRoutes({ keys, budgets, checkAdmin, maxBodyBytes }),
    ...usageRoutes({ ledger, keys, budgets, checkAdmin }),
    ...priceRoutes({ pricing, checkAdmin, maxBodyBytes }),
  ]);
  const handler = connectNodeAdapter({ routes, fallback: rest, readMaxBytes: maxBodyBytes });
  server = await startGatewayServer({ handler, port: config.port, host: config.host, logger });
  for (const name of ["", ...SERVICES]) health.set(name, "SERVING");
  const { address, port, family } = server.address;
  const host = address === "::" || address === "0.0.0.0" ? "127.0.0.1" : family === "IPv6" ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  logger.info("gateway listening", { url, port, models: router.list().length });

  return {
    server,
    url,
    adminKey,
    metrics,
    async close() {
      probes.stop();
      for (const name of ["", ...SERVICES]) health.set(name, "NOT_SERVING");
      await server.shutdown(config.shutdownTimeoutMs);
      // Whatever upstream exchange is still open after the drain is cut.
      await Promise.all([upstream.destroy(), fetchImage.close()]);
      await Promise.all([journaled?.close(), tokens.close()]);
      db.close();
    },
  };
}
