import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ProtoStatus } from "../../gen/grpc/health/v1/health_pb.js";

// The gRPC health checking protocol:
// https://github.com/grpc/grpc/blob/master/doc/health-checking.md

/** The serving status of the whole server (service "") or of one service. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** Serving statuses by service name, with change notifications. */
export interface HealthState {
  /** Sets a status; listeners of that service hear of it only if it changed. */
  set(service: string, status: ServingStatus): void;
  /** The status, or undefined for a service never set. */
  get(service: string): ServingStatus | undefined;
  /** A snapshot of every service with a status. */
  all(): ReadonlyMap<string, ServingStatus>;
  /** Calls `listener` on each change of `service`'s status; returns the function that stops it. */
  watch(service: string, listener: (status: ServingStatus) => void): () => void;
}

/**
 * Creates a {@link HealthState} holding `initial` (empty by default: even the
 * server, service "", is unknown until someone sets it).
 */
export function createHealthState(initial: Readonly<Record<string, ServingStatus>> = {}): HealthState {
  const statuses = new Map<string, ServingStatus>(Object.entries(initial));
  const listeners = new Map<string, Set<(status: ServingStatus) => void>>();
  return {
    set(service, status) {
      if (statuses.get(service) === status) return;
      statuses.set(service, status);
      for (const listener of [...(listeners.get(service) ?? [])]) listener(status);
    },
    get: (service) => statuses.get(service),
    all: () => new Map(statuses),
    watch(service, listener) {
      let set = listeners.get(service);
      if (!set) listeners.set(service, (set = new Set()));
      const own = set;
      own.add(listener);
      return () => {
        own.delete(listener);
        if (own.size === 0 && listeners.get(service) === own) listeners.delete(service);
      };
    },
  };
}

const TO_PROTO: Record<ServingStatus, ProtoStatus> = {
  SERVING: ProtoStatus.SERVING,
  NOT_SERVING: ProtoStatus.NOT_SERVING,
};

function toProto(status: ServingStatus | undefined): ProtoStatus {
  return status === undefined ? ProtoStatus.SERVICE_UNKNOWN : TO_PROTO[status];
}

/**
 * The statuses of `service`: the current one, then each change, until
 * `signal` aborts. The listener is released on abort even while the consumer
 * is not pulling (the generator would otherwise sit at a `yield`), and when
 * the consumer stops early.
 */
function watchStatus(state: HealthState, service: string, signal: AbortSignal): AsyncIterable<{ status: ProtoStatus }> {
  // `latest` is a box so that TypeScript does not narrow what the listener changes.
  const latest: { status?: ServingStatus } = {};
  let wake: (() => void) | undefined;
  let stop: (() => void) | undefined = state.watch(service, (status) => {
    latest.status = status;
    wake?.();
  });
  const release = () => {
    stop?.();
    stop = undefined;
    signal.removeEventListener("abort", release);
    wake?.();
  };
  if (signal.aborted) release();
  else signal.addEventListener("abort", release);
  return (async function* () {
    try {
      let sent = toProto(state.get(service));
      yield { status: sent };
      while (!signal.aborted) {
        if (latest.status === undefined) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        const next = toProto(latest.status);
        latest.status = undefined;
        if (next !== sent) yield { status: (sent = next) };
      }
    } finally {
      release();
    }
  })();
}

/**
 * Registers `grpc.health.v1.Health` over `state`. Check fails with NotFound
 * for an unknown service; List returns every status; Watch sends the current
 * status at once (SERVICE_UNKNOWN for an unknown service, without ending),
 * then each change, and ends when the client cancels. A slow watcher gets the
 * latest status, not every intermediate one.
 */
export function registerHealth(router: ConnectRouter, state: HealthState): void {
  router.service(Health, {
    check(req) {
      const status = state.get(req.service);
      if (status === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return { status: toProto(status) };
    },
    list() {
      const statuses: Record<string, { status: ProtoStatus }> = {};
      for (const [service, status] of state.all()) statuses[service] = { status: toProto(status) };
      return { statuses };
    },
    watch: (req, ctx) => watchStatus(state, req.service, ctx.signal),
  });
}
