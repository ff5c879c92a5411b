import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { createHealthState, registerHealth, type HealthState } from "../../src/rpc/health-service.ts";

/** A Health client over `state`, and the number of watch listeners still subscribed. */
function setup(state: HealthState = createHealthState()) {
  let listeners = 0;
  const counted: HealthState = {
    ...state,
    watch(service, listener) {
      listeners++;
      const stop = state.watch(service, listener);
      return () => {
        listeners--;
        stop();
      };
    },
  };
  const client = createClient(Health, createRouterTransport((router) => registerHealth(router, counted)));
  return { client, state, listeners: () => listeners };
}

describe("health state", () => {
  it("starts empty unless given initial statuses", () => {
    expect(createHealthState().get("")).toBeUndefined();
    expect(createHealthState({ "": "SERVING" }).get("")).toBe("SERVING");
  });

  it("tells a service's listeners of changes only, and stops when asked", () => {
    const state = createHealthState();
    const heard: string[] = [];
    const stop = state.watch("a", (s) => heard.push(s));
    state.set("a", "SERVING");
    state.set("a", "SERVING");
    state.set("b", "NOT_SERVING");
    state.set("a", "NOT_SERVING");
    stop();
    state.set("a", "SERVING");
    expect(heard).toEqual(["SERVING", "NOT_SERVING"]);
    expect([...state.all()]).toEqual([["a", "SERVING"], ["b", "NOT_SERVING"]]);
  });
});

describe("grpc.health.v1.Health", () => {
  it("checks the server and each service", async () => {
    const { client, state } = setup();
    state.set("", "SERVING");
    state.set("gateway.v1.ChatService", "NOT_SERVING");
    expect((await client.check({})).status).toBe(Status.SERVING);
    expect((await client.check({ service: "gateway.v1.ChatService" })).status).toBe(Status.NOT_SERVING);
  });

  it("fails a check of an unknown service with NotFound", async () => {
    const { client } = setup();
    const err = await client.check({ service: "nope.Service" }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.NotFound);
  });

  it("lists every status", async () => {
    const { client, state } = setup(createHealthState({ "": "SERVING", "a.A": "NOT_SERVING" }));
    state.set("b.B", "SERVING");
    const { statuses } = await client.list({});
    expect(Object.fromEntries(Object.entries(statuses).map(([k, v]) => [k, v.status]))).toEqual({
      "": Status.SERVING,
      "a.A": Status.NOT_SERVING,
      "b.B": Status.SERVING,
    });
  });

  it("watches: the current status at once, then each change, until the client cancels", async () => {
    const { client, state, listeners } = setup(createHealthState({ "": "SERVING" }));
    const abort = new AbortController();
    const stream = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    state.set("", "NOT_SERVING");
    expect((await stream.next()).value?.status).toBe(Status.NOT_SERVING);
    state.set("other", "NOT_SERVING");
    state.set("", "SERVING");
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    expect(listeners()).toBe(1);
    abort.abort();
    const end = await stream.next().catch((e: unknown) => e);
    expect(ConnectError.from(end).code).toBe(Code.Canceled);
    await vi.waitFor(() => expect(listeners()).toBe(0));
  });

  it("watches an unknown service as SERVICE_UNKNOWN without ending, until it appears", async () => {
    const { client, state, listeners } = setup();
    const abort = new AbortController();
    const stream = client.watch({ service: "later.Service" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVICE_UNKNOWN);
    state.set("later.Service", "SERVING");
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    abort.abort();
    await stream.next().catch(() => undefined);
    await vi.waitFor(() => expect(listeners()).toBe(0));
  });

  it("gives a slow watcher the latest status, not every one in between", async () => {
    const { client, state } = setup(createHealthState({ "": "SERVING" }));
    const abort = new AbortController();
    const stream = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    state.set("", "NOT_SERVING");
    state.set("", "SERVING");
    state.set("", "NOT_SERVING");
    expect((await stream.next()).value?.status).toBe(Status.NOT_SERVING);
    state.set("", "SERVING");
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    abort.abort();
    await stream.next().catch(() => undefined);
  });
});
