import { isIP } from "node:net";
import { GatewayError } from "../errors/gateway-error.ts";
import type { UpstreamClient } from "./upstream-client.ts";

/** An image as bytes, base64-encoded, with its media type. */
export interface InlineImage {
  readonly mimeType: string;
  readonly base64: string;
}

/**
 * Fetches an image URL for providers that take only inline images.
 * @throws GatewayError `invalid_request` (param `image_url`) when the URL is not
 * http(s), points at a private address (unless allowed), is too large, is not
 * an image, or cannot be fetched in time.
 */
export type ImageFetcher = (url: string, signal: AbortSignal) => Promise<InlineImage>;

/** Parses a `data:<mime>;base64,<data>` URL; undefined for anything else. */
export function parseDataUrl(url: string): InlineImage | undefined {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return m ? { mimeType: (m[1] as string).toLowerCase(), base64: m[2] as string } : undefined;
}

function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal") || host.endsWith(".local")) return true;
  const family = isIP(host);
  if (family === 4) {
    const [a, b] = host.split(".").map(Number) as [number, number];
    return a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (family === 6) return host === "::1" || host === "::" || host.startsWith("fc") || host.startsWith("fd") || host.startsWith("fe80") || host.startsWith("::ffff:");
  return false;
}

/**
 * Creates an {@link ImageFetcher} that reads at most `maxBytes` within
 * `timeoutMs`. Private and loopback addresses are refused unless
 * `allowPrivate` (names that resolve to private addresses are not checked).
 */
export function createImageFetcher(deps: { upstream: UpstreamClient; maxBytes: number; timeoutMs: number; allowPrivate: boolean }): ImageFetcher {
  const bad = (message: string, cause?: unknown) => new GatewayError("invalid_request", `image_url: ${message}`, { param: "image_url", cause });
  return async (raw, signal) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch (cause) {
      throw bad("is not a valid URL", cause);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw bad("only http(s) and data: URLs are supported");
    if (!deps.allowPrivate && isPrivateHost(url.hostname)) throw bad("private and loopback addresses are not fetched");
    const combined = AbortSignal.any([signal, AbortSignal.timeout(deps.timeoutMs)]);
    try {
      const res = await deps.upstream.send("GET", url.href, { accept: "image/*" }, undefined, combined);
      if (res.status !== 200) {
        await res.body.dump();
        throw bad(`fetching the image failed with status ${res.status}`);
      }
      const type = String(res.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      if (!type.startsWith("image/")) {
        await res.body.dump();
        throw bad(`the URL did not return an image (content-type "${type}")`);
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += chunk.length;
        if (size > deps.maxBytes) throw bad(`the image is larger than ${deps.maxBytes} bytes`);
        chunks.push(chunk);
      }
      return { mimeType: type, base64: Buffer.concat(chunks).toString("base64") };
    } catch (err) {
      if (signal.aborted) throw new GatewayError("canceled", "the request was canceled", { cause: err });
      if (err instanceof GatewayError && err.kind === "invalid_request") throw err;
      throw bad("the image could not be fetched in time", err);
    }
  };
}
