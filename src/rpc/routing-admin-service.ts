import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  BalancingStrategy as ProtoStrategy,
  CircuitState as ProtoCircuit,
  DeploymentStatusSchema,
  ModelRouteSchema,
  RoutingAdminService,
  type DeploymentStatus as ProtoDeploymentStatus,
  type ModelRoute as ProtoModelRoute,
} from "../../gen/gateway/v1/routing_admin_pb.js";
import type { ModelRouteAdmin } from "../admin/model-route-admin.ts";
import { GatewayError } from "../errors/gateway-error.ts";
import type { BalancingStrategy, CircuitState, DeploymentStatus, DeploymentStatusSource, ModelRouteInput, ModelRouteRecord } from "../routing/model-route.ts";
import { adminGuard, pageByName } from "./admin-rpc.ts";

const TO_PROTO: Record<BalancingStrategy, ProtoStrategy> = {
  "round-robin": ProtoStrategy.ROUND_ROBIN,
  weighted: ProtoStrategy.WEIGHTED,
  "least-busy": ProtoStrategy.LEAST_BUSY,
  "lowest-latency": ProtoStrategy.LOWEST_LATENCY,
  "lowest-cost": ProtoStrategy.LOWEST_COST,
};
const FROM_PROTO: Record<number, BalancingStrategy | undefined> = {
  [ProtoStrategy.UNSPECIFIED]: undefined,
  [ProtoStrategy.ROUND_ROBIN]: "round-robin",
  [ProtoStrategy.WEIGHTED]: "weighted",
  [ProtoStrategy.LEAST_BUSY]: "least-busy",
  [ProtoStrategy.LOWEST_LATENCY]: "lowest-latency",
  [ProtoStrategy.LOWEST_COST]: "lowest-cost",
};
const CIRCUIT: Record<CircuitState, ProtoCircuit> = { closed: ProtoCircuit.CLOSED, open: ProtoCircuit.OPEN, "half-open": ProtoCircuit.HALF_OPEN };
const MASK_FIELDS = new Set(["strategy", "deployments", "fallbacks", "first_token_timeout_ms", "stall_timeout_ms", "continue_on_failure"]);

function toProto(r: ModelRouteRecord): ProtoModelRoute {
  return create(ModelRouteSchema, {
    name: r.name,
    strategy: r.strategy === undefined ? ProtoStrategy.UNSPECIFIED : TO_PROTO[r.strategy],
    deployments: r.deployments.map((d) => ({ provider: d.provider, model: d.model, weight: d.weight, rpm: d.rpm, tpm: d.tpm, supportsPrefill: d.supportsPrefill })),
    fallbacks: [...r.fallbacks],
    firstTokenTimeoutMs: r.firstTokenTimeoutMs,
    stallTimeoutMs: r.stallTimeoutMs,
    continueOnFailure: r.continueOnFailure,
    createTime: timestampFromDate(r.createTime),
    updateTime: timestampFromDate(r.updateTime),
  });
}

function statusToProto(s: DeploymentStatus): ProtoDeploymentStatus {
  return create(DeploymentStatusSchema, {
    id: s.id,
    provider: s.provider,
    model: s.model,
    servedAs: [...s.servedAs],
    state: CIRCUIT[s.state],
    consecutiveFailures: s.consecutiveFailures,
    cooldownUntil: s.cooldownUntil ? timestampFromDate(s.cooldownUntil) : undefined,
    inFlight: s.inFlight,
    latencyMs: s.latencyMs,
    lastError: s.lastError,
    lastProbeTime: s.lastProbeTime ? timestampFromDate(s.lastProbeTime) : undefined,
  });
}

/** The admin input of a proto route: every field that is set, or those the mask names (unset ones reset). */
function toInput(r: ProtoModelRoute | undefined, mask?: readonly string[]): ModelRouteInput {
  if (!r) throw new GatewayError("invalid_request", "model_route: is required", { param: "model_route" });
  const all: ModelRouteInput = {
    strategy: FROM_PROTO[r.strategy] ?? null,
    // Weight 0 is proto3's unset: the admin's default applies.
    deployments: r.deployments.map((d) => ({
      provider: d.provider,
      model: d.model,
      ...(d.weight !== 0 && { weight: d.weight }),
      ...(d.rpm !== undefined && { rpm: d.rpm }),
      ...(d.tpm !== undefined && { tpm: d.tpm }),
      supports_prefill: d.supportsPrefill,
    })),
    fallbacks: r.fallbacks,
    first_token_timeout_ms: r.firstTokenTimeoutMs ?? null,
    stall_timeout_ms: r.stallTimeoutMs ?? null,
    continue_on_failure: r.continueOnFailure,
  };
  if (mask && mask.length > 0) {
    const input: ModelRouteInput = {};
    for (const path of mask) {
      if (!MASK_FIELDS.has(path)) throw new GatewayError("invalid_request", `update_mask: unknown or immutable field "${path}"`, { param: "update_mask" });
      const key = path as keyof ModelRouteInput;
      input[key] = all[key];
    }
    return input;
  }
  return {
    ...(r.name !== "" && { name: r.name }),
    ...(r.strategy !== ProtoStrategy.UNSPECIFIED && { strategy: FROM_PROTO[r.strategy] ?? r.strategy }),
    ...(r.deployments.length > 0 && { deployments: all.deployments }),
    ...(r.fallbacks.length > 0 && { fallbacks: r.fallbacks }),
    ...(r.firstTokenTimeoutMs !== undefined && { first_token_timeout_ms: r.firstTokenTimeoutMs }),
    ...(r.stallTimeoutMs !== undefined && { stall_timeout_ms: r.stallTimeoutMs }),
    ...(r.continueOnFailure && { continue_on_failure: true }),
  };
}

/**
 * Registers `gateway.v1.RoutingAdminService`; every call needs the admin
 * key. Routes go through the same {@link ModelRouteAdmin} as REST, and
 * deployment state comes from the same source as `GET /v1/deployments`.
 */
export function registerRoutingAdminService(
  router: ConnectRouter,
  deps: { admin: ModelRouteAdmin; deployments: DeploymentStatusSource; checkAdmin: (authorization: string | undefined) => void },
): void {
  const { admin } = deps;
  const guarded = adminGuard(deps.checkAdmin);
  router.service(RoutingAdminService, {
    listModelRoutes: (req, ctx) =>
      guarded(ctx, async () => {
        const { page, nextPageToken } = pageByName(await admin.list(), (x) => x.name, req);
        return { modelRoutes: page.map(toProto), nextPageToken };
      }),
    getModelRoute: (req, ctx) => guarded(ctx, async () => ({ modelRoute: toProto(await admin.get(req.name)) })),
    createModelRoute: (req, ctx) => guarded(ctx, async () => ({ modelRoute: toProto(await admin.create(toInput(req.modelRoute))) })),
    updateModelRoute: (req, ctx) =>
      guarded(ctx, async () => {
        const name = req.modelRoute?.name ?? "";
        if (name === "") throw new GatewayError("invalid_request", "model_route.name: is required", { param: "model_route.name" });
        const input = toInput(req.modelRoute, req.updateMask?.paths);
        delete input.name;
        return { modelRoute: toProto(await admin.update(name, input)) };
      }),
    deleteModelRoute: (req, ctx) =>
      guarded(ctx, async () => {
        await admin.delete(req.name);
        return {};
      }),
    listDeployments: (_req, ctx) => guarded(ctx, async () => ({ deployments: deps.deployments.list().map(statusToProto) })),
  });
}
