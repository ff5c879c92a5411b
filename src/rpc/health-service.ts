import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";

/** Serving status of the server ("") and of each service, with change notifications. */
export interface HealthState {
  set(service: string, status: "SERVING" | "NOT_SERVING"): void;
  /** The status, or undefined for a service never set. */
  get(service: string): "SERVING" | "NOT_SERVING" | undefined;
  /** Every service with a status. */
  all(): Map<string, "SERVING" | "NOT_SERVING">;
  /** Calls `listener` on every change; returns a function that stops it. */
  watch(listener: (service: string) => void): () => void;
}

/** Creates an empty {@link HealthState}. */
export function createHealthState(): HealthState {
  const statuses = new Map<string, "SERVING" | "NOT_SERVING">();
  const listeners = new Set<(service: string) => void>();
  return {
    set(service, status) {
      if (statuses.get(service) === status) return;
      statuses.set(service, status);
      for (const l of listeners) l(service);
    },
    get: (service) => statuses.get(service),
    all: () => new Map(statuses),
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function toProto(s: "SERVING" | "NOT_SERVING" | undefined): Status {
  return s === "SERVING" ? Status.SERVING : s === "NOT_SERVING" ? Status.NOT_SERVING : Status.SERVICE_UNKNOWN;
}

/**
 * Registers `grpc.health.v1.Health`: Check (NOT_FOUND for an unknown
 * service), List, and Watch, which sends the current status at once, then
 * each change, until the client cancels.
 */
export function registerHealth(router: ConnectRouter, state: HealthState): void {
  router.service(Health, {
    check(req) {
      const s = state.get(req.service);
      if (s === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return { status: toProto(s) };
    },
    list() {
      const statuses: Record<string, { status: Status }> = {};
      for (const [name, s] of state.all()) statuses[name] = { status: toProto(s) };
      return { statuses };
    },
    async *watch(req, ctx) {
      let wake: (() => void) | undefined;
      let changed = true;
      const stop = state.watch((service) => {
        if (service !== req.service) return;
        changed = true;
        wake?.();
      });
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        let last: Status | undefined;
        while (!ctx.signal.aborted) {
          if (changed) {
            changed = false;
            const status = toProto(state.get(req.service));
            if (status !== last) yield { status: (last = status) };
          }
          if (!changed) await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        stop();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  });
}
