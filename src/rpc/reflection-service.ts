import { create, createFileRegistry, fromBinary, toBinary, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  ErrorResponseSchema,
  ExtensionNumberResponseSchema,
  file_grpc_reflection_v1_reflection,
  FileDescriptorResponseSchema,
  ListServiceResponseSchema,
  ServerReflection,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ServerReflectionV1alpha,
  ServerReflectionRequestSchema as V1alphaRequestSchema,
  ServerReflectionResponseSchema as V1alphaResponseSchema,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

// The gRPC server reflection protocol:
// https://github.com/grpc/grpc/blob/master/doc/server-reflection.md
// Behaviour follows grpc-go's reference server (reflection/internal/internal.go).

/** Everything a reflection stream looks things up in, built once per server. */
interface ReflectionIndex {
  readonly registry: FileRegistry;
  readonly services: readonly string[];
  /** Serialized `FileDescriptorProto`s by file name, filled on first use. */
  readonly encoded: Map<string, Uint8Array>;
}

/** The given files and all their transitive imports, each once, imports first. */
function withImports(files: readonly DescFile[]): DescFile[] {
  const ordered = new Map<string, DescFile>();
  const visit = (file: DescFile): void => {
    if (ordered.has(file.proto.name)) return;
    for (const dep of file.dependencies) visit(dep);
    ordered.set(file.proto.name, file);
  };
  files.forEach(visit);
  return [...ordered.values()];
}

function createIndex(files: readonly DescFile[]): ReflectionIndex {
  const served = [file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection, ...files];
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: withImports(served).map((f) => f.proto) }));
  const services = new Set(served.flatMap((f) => f.services.map((s) => s.typeName)));
  return { registry, services: [...services].sort(), encoded: new Map() };
}

function encode(index: ReflectionIndex, file: DescFile): Uint8Array {
  let bytes = index.encoded.get(file.proto.name);
  if (!bytes) {
    bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    index.encoded.set(file.proto.name, bytes);
  }
  return bytes;
}

/**
 * The requested file, always, then (breadth first) each transitive import
 * this stream has not sent yet. Clients such as buf curl and grpcurl keep
 * every file they received and ask by file name for any import still
 * missing, so skipping already-sent imports is safe and keeps answers small.
 */
function fileWithImports(index: ReflectionIndex, root: DescFile, sent: Set<string>): Uint8Array[] {
  const out: Uint8Array[] = [];
  const queue = [root];
  const queued = new Set([root.proto.name]);
  for (let file = queue.shift(); file; file = queue.shift()) {
    if (file === root || !sent.has(file.proto.name)) {
      sent.add(file.proto.name);
      out.push(encode(index, file));
    }
    for (const dep of file.dependencies) {
      if (queued.has(dep.proto.name)) continue;
      queued.add(dep.proto.name);
      queue.push(dep);
    }
  }
  return out;
}

/** The file declaring a type, service, method, field, oneof or enum value. */
function fileContainingSymbol(registry: FileRegistry, symbol: string): DescFile | undefined {
  const type = registry.get(symbol);
  if (type) return type.file;
  const dot = symbol.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const scope = symbol.slice(0, dot);
  const member = symbol.slice(dot + 1);
  const parent = registry.get(scope);
  switch (parent?.kind) {
    case "service":
      return parent.methods.some((m) => m.name === member) ? parent.file : undefined;
    case "message": {
      const found =
        parent.fields.some((f) => f.name === member) ||
        parent.oneofs.some((o) => o.name === member) ||
        parent.nestedEnums.some((e) => e.values.some((v) => v.name === member));
      return found ? parent.file : undefined;
    }
    case undefined:
      // An enum value declared at the top level is scoped to its package.
      for (const file of registry.files) {
        if (file.proto.package === scope && file.enums.some((e) => e.values.some((v) => v.name === member))) return file;
      }
      return undefined;
    default:
      return undefined;
  }
}

type ResponseBody = ServerReflectionResponse["messageResponse"];

function notFound(message: string): ResponseBody {
  return { case: "errorResponse", value: create(ErrorResponseSchema, { errorCode: Code.NotFound, errorMessage: message }) };
}

function fileAnswer(fileDescriptorProto: Uint8Array[]): ResponseBody {
  return { case: "fileDescriptorResponse", value: create(FileDescriptorResponseSchema, { fileDescriptorProto }) };
}

/**
 * One reflection stream: answers each request in order and remembers which
 * files it already sent. Lookups that fail become an in-band `error_response`
 * with NOT_FOUND; a request that sets no question ends the stream with
 * InvalidArgument, as grpc-go does.
 */
function createSession(index: ReflectionIndex): (request: ServerReflectionRequest) => ServerReflectionResponse {
  const { registry } = index;
  const sent = new Set<string>();
  const answer = (req: ServerReflectionRequest["messageRequest"]): ResponseBody => {
    switch (req.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: create(ListServiceResponseSchema, { service: index.services.map((name) => ({ name })) }),
        };
      case "fileByFilename": {
        const file = registry.getFile(req.value);
        return file ? fileAnswer(fileWithImports(index, file, sent)) : notFound(`file not found: ${req.value}`);
      }
      case "fileContainingSymbol": {
        const file = fileContainingSymbol(registry, req.value.replace(/^\./, ""));
        return file ? fileAnswer(fileWithImports(index, file, sent)) : notFound(`symbol not found: ${req.value}`);
      }
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = req.value;
        const extendee = registry.getMessage(containingType);
        const extension = extendee && registry.getExtensionFor(extendee, extensionNumber);
        return extension
          ? fileAnswer(fileWithImports(index, extension.file, sent))
          : notFound(`extension not found: ${extensionNumber} of ${containingType}`);
      }
      case "allExtensionNumbersOfType": {
        if (!registry.getMessage(req.value)) return notFound(`message type not found: ${req.value}`);
        const numbers: number[] = [];
        for (const desc of registry) {
          if (desc.kind === "extension" && desc.extendee.typeName === req.value) numbers.push(desc.number);
        }
        return {
          case: "allExtensionNumbersResponse",
          value: create(ExtensionNumberResponseSchema, {
            baseTypeName: req.value,
            extensionNumber: numbers.sort((a, b) => a - b),
          }),
        };
      }
      case undefined:
        throw new ConnectError("reflection request sets no message_request", Code.InvalidArgument);
      default: {
        const unreachable: never = req;
        throw new ConnectError(`unknown reflection request ${String(unreachable)}`, Code.InvalidArgument);
      }
    }
  };
  return (request) =>
    create(ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request,
      messageResponse: answer(request.messageRequest),
    });
}

/**
 * Registers gRPC server reflection, both `grpc.reflection.v1.ServerReflection`
 * and the older `grpc.reflection.v1alpha.ServerReflection` that some clients
 * still use, over one implementation. `files` are the files of every service
 * the server serves (their imports are found on their own); the reflection
 * files themselves are always added. Each stream sends a file's imports only
 * once and ends when the client closes its side.
 */
export function registerReflection(router: ConnectRouter, files: readonly DescFile[]): void {
  const index = createIndex(files);
  router.service(ServerReflection, {
    async *serverReflectionInfo(requests) {
      const answer = createSession(index);
      for await (const request of requests) yield answer(request);
    },
  });
  // v1alpha has the same messages under another package: convert on the wire.
  router.service(ServerReflectionV1alpha, {
    async *serverReflectionInfo(requests) {
      const answer = createSession(index);
      for await (const request of requests) {
        const v1 = fromBinary(ServerReflectionRequestSchema, toBinary(V1alphaRequestSchema, request));
        yield fromBinary(V1alphaResponseSchema, toBinary(ServerReflectionResponseSchema, answer(v1)));
      }
    },
  });
}
