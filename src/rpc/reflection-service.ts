import { create, toBinary, type DescFile, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The questions both protocol versions ask, with the same field names and numbers. */
type Question = v1.ServerReflectionRequest["messageRequest"];
/** The answers, without the version-specific type names. */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Every file reachable from `files`, by file name with its `.proto` suffix, and every symbol's file. */
function index(files: readonly DescFile[]) {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const extensionsOf = new Map<string, { file: DescFile; number: number }[]>();
  const addMessage = (m: DescMessage, file: DescFile) => {
    bySymbol.set(m.typeName, file);
    for (const f of m.fields) bySymbol.set(`${m.typeName}.${f.name}`, file);
    for (const n of m.nestedMessages) addMessage(n, file);
    for (const e of m.nestedEnums) bySymbol.set(e.typeName, file);
    for (const x of m.nestedExtensions) bySymbol.set(x.typeName, file);
  };
  const visit = (file: DescFile) => {
    const name = `${file.name}.proto`;
    if (byName.has(name)) return;
    byName.set(name, file);
    for (const m of file.messages) addMessage(m, file);
    for (const e of file.enums) bySymbol.set(e.typeName, file);
    for (const s of file.services) {
      bySymbol.set(s.typeName, file);
      for (const method of s.methods) bySymbol.set(`${s.typeName}.${method.name}`, file);
    }
    for (const x of file.extensions) {
      bySymbol.set(x.typeName, file);
      const list = extensionsOf.get(x.extendee.typeName) ?? [];
      list.push({ file, number: x.number });
      extensionsOf.set(x.extendee.typeName, list);
    }
    for (const dep of file.dependencies) visit(dep);
  };
  for (const f of files) visit(f);
  return { byName, bySymbol, extensionsOf };
}

/**
 * Registers gRPC server reflection, `grpc.reflection.v1` and `v1alpha`, over
 * the given files (and everything they import), so that grpcurl and
 * `buf curl` can call the server without its proto files. `list_services`
 * names the services of the given files.
 */
export function registerReflection(router: ConnectRouter, files: readonly DescFile[]): void {
  const { byName, bySymbol, extensionsOf } = index(files);
  const services = files.flatMap((f) => f.services.map((s) => ({ name: s.typeName })));
  const encoded = new Map<DescFile, Uint8Array>();
  const bytesOf = (f: DescFile) => {
    let b = encoded.get(f);
    if (!b) encoded.set(f, (b = toBinary(FileDescriptorProtoSchema, create(FileDescriptorProtoSchema, f.proto))));
    return b;
  };
  const notFound = (message: string): Answer => ({ case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } });

  /** Answers one question; `sent` holds the files this stream has already received. */
  function answer(q: Question, sent: Set<DescFile>): Answer {
    const withDeps = (file: DescFile): Answer => {
      const out: Uint8Array[] = [];
      const add = (f: DescFile, root: boolean) => {
        if (!root && sent.has(f)) return;
        sent.add(f);
        out.push(bytesOf(f));
        for (const d of f.dependencies) add(d, false);
      };
      add(file, true);
      return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
    };
    switch (q.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: services } };
      case "fileByFilename": {
        const f = byName.get(q.value);
        return f ? withDeps(f) : notFound(`file "${q.value}" not found`);
      }
      case "fileContainingSymbol": {
        const f = bySymbol.get(q.value.replace(/^\./, ""));
        return f ? withDeps(f) : notFound(`symbol "${q.value}" not found`);
      }
      case "fileContainingExtension": {
        const x = extensionsOf.get(q.value.containingType)?.find((e) => e.number === q.value.extensionNumber);
        return x ? withDeps(x.file) : notFound(`extension ${q.value.extensionNumber} of "${q.value.containingType}" not found`);
      }
      case "allExtensionNumbersOfType": {
        if (!bySymbol.has(q.value)) return notFound(`type "${q.value}" not found`);
        return { case: "allExtensionNumbersResponse", value: { baseTypeName: q.value, extensionNumber: (extensionsOf.get(q.value) ?? []).map((e) => e.number) } };
      }
      case undefined:
        return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "the request asks nothing" } };
      default: {
        const never: never = q;
        return never;
      }
    }
  }

  async function* serve<Req extends { host: string; messageRequest: Question }>(requests: AsyncIterable<Req>) {
    const sent = new Set<DescFile>();
    for await (const req of requests) {
      yield { validHost: req.host, originalRequest: req, messageResponse: answer(req.messageRequest, sent) };
    }
  }
  router.service(v1.ServerReflection, { serverReflectionInfo: (requests) => serve(requests) });
  router.service(v1alpha.ServerReflection, {
    serverReflectionInfo: (requests) => serve(requests as AsyncIterable<v1.ServerReflectionRequest & v1alpha.ServerReflectionRequest>) as never,
  });
}
