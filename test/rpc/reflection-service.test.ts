import { execFile } from "node:child_process";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, createFileRegistry, fromBinary, type DescFile, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { file_gateway_v1_chat } from "../../gen/gateway/v1/chat_pb.js";
import { file_gateway_v1_provider_admin } from "../../gen/gateway/v1/provider_admin_pb.js";
import { file_grpc_health_v1_health, Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import {
  file_grpc_reflection_v1_reflection,
  ServerReflection,
  type ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ServerReflectionV1alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createHealthState, registerHealth, type HealthState } from "../../src/rpc/health-service.ts";
import { registerReflection } from "../../src/rpc/reflection-service.ts";

type Request = MessageInitShape<typeof ServerReflectionRequestSchema>;

/** A proto2 file with a top-level and a nested extension of `test.ext.Base`. */
const extensionFile: DescFile = (() => {
  const optional = FieldDescriptorProto_Label.OPTIONAL;
  const proto = create(FileDescriptorProtoSchema, {
    name: "test/ext.proto",
    package: "test.ext",
    syntax: "proto2",
    messageType: [
      { name: "Base", extensionRange: [{ start: 100, end: 201 }] },
      { name: "Holder", extension: [{ name: "nested", number: 150, label: optional, type: FieldDescriptorProto_Type.INT32, extendee: ".test.ext.Base" }] },
    ],
    extension: [{ name: "note", number: 100, label: optional, type: FieldDescriptorProto_Type.STRING, extendee: ".test.ext.Base" }],
  });
  const file = createFileRegistry(create(FileDescriptorSetSchema, { file: [proto] })).getFile("test/ext.proto");
  if (!file) throw new Error("test/ext.proto did not load");
  return file;
})();

const SERVED = [file_gateway_v1_chat, file_gateway_v1_provider_admin, file_grpc_health_v1_health, extensionFile];

function transportFor(files: readonly DescFile[]) {
  return createRouterTransport((router) => registerReflection(router, files));
}

/** Sends `requests` on one v1 reflection stream and collects every answer. */
async function ask(requests: Request[], files: readonly DescFile[] = SERVED): Promise<ServerReflectionResponse[]> {
  const client = createClient(ServerReflection, transportFor(files));
  const out: ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo((async function* () {
    yield* requests;
  })())) out.push(res);
  return out;
}

/** The names of the files in a file answer, in order. */
function fileNames(res: ServerReflectionResponse | undefined): string[] {
  if (res?.messageResponse.case !== "fileDescriptorResponse") throw new Error(`not a file answer: ${res?.messageResponse.case}`);
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe("gRPC server reflection", () => {
  it("lists the services of the given files and the reflection services, sorted", async () => {
    const [res] = await ask([{ messageRequest: { case: "listServices", value: "*" } }]);
    expect(res?.messageResponse.case).toBe("listServicesResponse");
    const names = res?.messageResponse.case === "listServicesResponse" ? res.messageResponse.value.service.map((s) => s.name) : [];
    expect(names).toEqual([
      "gateway.v1.ChatService",
      "gateway.v1.ProviderAdminService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  it("answers a file by name with the file first, then its imports", async () => {
    const [res] = await ask([{ messageRequest: { case: "fileByFilename", value: "gateway/v1/chat.proto" } }]);
    expect(fileNames(res)).toEqual(["gateway/v1/chat.proto", "google/protobuf/struct.proto"]);
    const chat = res?.messageResponse.case === "fileDescriptorResponse" ? res.messageResponse.value.fileDescriptorProto[0] : undefined;
    expect(fromBinary(FileDescriptorProtoSchema, chat ?? new Uint8Array()).service.map((s) => s.name)).toEqual(["ChatService"]);
  });

  it("sends each import once per stream, the requested file always, and everything again on a new stream", async () => {
    const chat: Request = { messageRequest: { case: "fileByFilename", value: "gateway/v1/chat.proto" } };
    const [first, second] = await ask([chat, chat]);
    expect(fileNames(first)).toEqual(["gateway/v1/chat.proto", "google/protobuf/struct.proto"]);
    expect(fileNames(second)).toEqual(["gateway/v1/chat.proto"]);
    const [again] = await ask([chat]);
    expect(fileNames(again)).toEqual(["gateway/v1/chat.proto", "google/protobuf/struct.proto"]);
  });

  it("answers an import requested by name even when the stream already sent it", async () => {
    const [, struct] = await ask([
      { messageRequest: { case: "fileByFilename", value: "gateway/v1/chat.proto" } },
      { messageRequest: { case: "fileByFilename", value: "google/protobuf/struct.proto" } },
    ]);
    expect(fileNames(struct)).toEqual(["google/protobuf/struct.proto"]);
  });

  it.each([
    ["a service", "gateway.v1.ChatService", "gateway/v1/chat.proto"],
    ["a method", "gateway.v1.ChatService.StreamChatCompletion", "gateway/v1/chat.proto"],
    ["a message", "gateway.v1.ContentPart", "gateway/v1/chat.proto"],
    ["a field", "gateway.v1.ContentPart.text", "gateway/v1/chat.proto"],
    ["a oneof", "gateway.v1.ContentPart.part", "gateway/v1/chat.proto"],
    ["an enum", "gateway.v1.Role", "gateway/v1/chat.proto"],
    ["a top-level enum value", "gateway.v1.ROLE_USER", "gateway/v1/chat.proto"],
    ["a nested enum", "grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
    ["a nested enum value", "grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
    ["an imported message", "google.protobuf.Struct", "google/protobuf/struct.proto"],
    ["an extension", "test.ext.Holder.nested", "test/ext.proto"],
    ["a reflection service", "grpc.reflection.v1.ServerReflection", "grpc/reflection/v1/reflection.proto"],
    ["a name with a leading dot", ".gateway.v1.Message", "gateway/v1/chat.proto"],
  ])("finds the file containing %s", async (_kind, symbol, file) => {
    const [res] = await ask([{ messageRequest: { case: "fileContainingSymbol", value: symbol } }]);
    expect(fileNames(res)[0]).toBe(file);
  });

  it("answers an unknown symbol or file with NOT_FOUND in band and keeps the stream open", async () => {
    const responses = await ask([
      { messageRequest: { case: "fileContainingSymbol", value: "gateway.v1.Nope" } },
      { messageRequest: { case: "fileContainingSymbol", value: "gateway.v1.ChatService.Nope" } },
      { messageRequest: { case: "fileByFilename", value: "gateway/v1/nope.proto" } },
      { messageRequest: { case: "listServices", value: "" } },
    ]);
    expect(responses.map((r) => r.messageResponse.case)).toEqual(["errorResponse", "errorResponse", "errorResponse", "listServicesResponse"]);
    for (const res of responses.slice(0, 3)) {
      expect(res.messageResponse.value).toMatchObject({ errorCode: 5, errorMessage: expect.stringMatching(/not found/) });
    }
  });

  it("finds extensions by extendee and number, and lists a type's extension numbers", async () => {
    const [byNumber, numbers, none] = await ask([
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "test.ext.Base", extensionNumber: 150 } } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "test.ext.Base" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "gateway.v1.Message" } },
    ]);
    expect(fileNames(byNumber)).toEqual(["test/ext.proto"]);
    expect(numbers?.messageResponse).toMatchObject({ case: "allExtensionNumbersResponse", value: { baseTypeName: "test.ext.Base", extensionNumber: [100, 150] } });
    expect(none?.messageResponse).toMatchObject({ case: "allExtensionNumbersResponse", value: { baseTypeName: "gateway.v1.Message", extensionNumber: [] } });
  });

  it("answers unknown extensions and unknown types with NOT_FOUND", async () => {
    const responses = await ask([
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "test.ext.Base", extensionNumber: 199 } } },
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "test.ext.Nope", extensionNumber: 100 } } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "test.ext.Nope" } },
    ]);
    for (const res of responses) expect(res.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
  });

  it("echoes the original request and the host in every answer", async () => {
    const request: Request = { host: "example.test", messageRequest: { case: "fileContainingSymbol", value: "gateway.v1.Nope" } };
    const [res] = await ask([request]);
    expect(res?.validHost).toBe("example.test");
    expect(res?.originalRequest).toMatchObject({ host: "example.test", messageRequest: { case: "fileContainingSymbol", value: "gateway.v1.Nope" } });
  });

  it("ends the stream with InvalidArgument for a request that asks nothing", async () => {
    const err = await ask([{ host: "x" }]).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
  });

  it("answers the same over grpc.reflection.v1alpha, with v1alpha messages", async () => {
    const client = createClient(ServerReflectionV1alpha, transportFor(SERVED));
    const out = [];
    for await (const res of client.serverReflectionInfo((async function* () {
      yield { host: "h", messageRequest: { case: "fileContainingSymbol" as const, value: "gateway.v1.ChatService" } };
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "gateway.v1.Nope" } };
    })())) out.push(res);
    expect(out[0]?.$typeName).toBe("grpc.reflection.v1alpha.ServerReflectionResponse");
    expect(out[0]?.originalRequest?.$typeName).toBe("grpc.reflection.v1alpha.ServerReflectionRequest");
    expect(out[0]?.validHost).toBe("h");
    const files = out[0]?.messageResponse.case === "fileDescriptorResponse" ? out[0].messageResponse.value.fileDescriptorProto : [];
    expect(files.map((b) => fromBinary(FileDescriptorProtoSchema, b).name)).toEqual(["gateway/v1/chat.proto", "google/protobuf/struct.proto"]);
    expect(out[1]?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
  });
});

describe("gRPC server reflection and health through buf curl over a real HTTP/2 server", () => {
  const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
  let server: http2.Http2Server | undefined;
  const sessions = new Set<http2.ServerHttp2Session>();
  let baseUrl = "";
  const health = createHealthState({ "": "SERVING" });
  let watchers = 0;
  const countedHealth: HealthState = {
    ...health,
    watch(service, listener) {
      watchers++;
      const stop = health.watch(service, listener);
      return () => {
        watchers--;
        stop();
      };
    },
  };

  const curl = async (...args: string[]): Promise<string> => {
    const { stdout } = await promisify(execFile)(buf, ["curl", "--http2-prior-knowledge", "--protocol", "grpc", ...args], { timeout: 15_000 });
    return stdout;
  };

  beforeAll(async () => {
    const routes = (router: ConnectRouter) => {
      registerHealth(router, countedHealth);
      registerReflection(router, [
        file_gateway_v1_chat,
        file_gateway_v1_provider_admin,
        file_grpc_health_v1_health,
        file_grpc_reflection_v1_reflection,
        file_grpc_reflection_v1alpha_reflection,
      ]);
    };
    const listening = http2.createServer(connectNodeAdapter({ routes }));
    server = listening;
    listening.on("session", (session) => {
      sessions.add(session);
      session.once("close", () => sessions.delete(session));
    });
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve, reject) => (server ? server.close((err) => (err ? reject(err) : resolve())) : resolve()));
  });

  const services = [
    "gateway.v1.ChatService",
    "gateway.v1.ProviderAdminService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ];

  it.each(["grpc-v1", "grpc-v1alpha"])("lists every service with --reflect-protocol %s", async (protocol) => {
    const out = await curl("--reflect-protocol", protocol, "--list-services", baseUrl);
    expect(out.trim().split("\n")).toEqual(services);
  });

  it("lists every service by default", async () => {
    expect((await curl("--list-services", baseUrl)).trim().split("\n")).toEqual(services);
  });

  it.each(["grpc-v1", "grpc-v1alpha"])("lists every method, which needs every file and its imports, with %s", async (protocol) => {
    const methods = (await curl("--reflect-protocol", protocol, "--list-methods", baseUrl)).trim().split("\n");
    expect(methods).toEqual(
      expect.arrayContaining([
        "gateway.v1.ChatService/CreateChatCompletion",
        "gateway.v1.ChatService/StreamChatCompletion",
        "gateway.v1.ProviderAdminService/UpdateProvider",
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Watch",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      ]),
    );
  });

  it.each(["grpc-v1", "grpc-v1alpha"])("checks the server's health with a schema from reflection (%s)", async (protocol) => {
    const out = await curl("--reflect-protocol", protocol, `${baseUrl}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(out)).toEqual({ status: "SERVING" });
  });

  it("ends a health watch when a gRPC client cancels it, releasing its listener", async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl }));
    const abort = new AbortController();
    const stream = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    health.set("", "NOT_SERVING");
    expect((await stream.next()).value?.status).toBe(Status.NOT_SERVING);
    health.set("", "SERVING");
    expect(watchers).toBe(1);
    abort.abort();
    await stream.next().catch(() => undefined);
    await vi.waitFor(() => expect(watchers).toBe(0));
  });
});
