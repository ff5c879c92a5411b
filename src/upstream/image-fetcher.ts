import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { Agent, request } from "undici";
import { GatewayError } from "../errors/gateway-error.ts";

/** An image as bytes, base64-encoded, with its media type. */
export interface InlineImage {
  readonly mimeType: string;
  readonly base64: string;
}

/**
 * Fetches the http(s) images of one request, for providers that take only
 * inline images. Resolves to the images by URL.
 * @throws GatewayError `invalid_request` (param `image_url`, or what
 * `describe` makes of it for the URL at fault) when there are too many images,
 * or one cannot be fetched, is too large or is not an image; the other
 * fetches are then aborted. `canceled` when `signal` aborts.
 */
export type ImageFetcher = (
  urls: readonly string[],
  signal: AbortSignal,
  describe?: (url: string, err: GatewayError) => GatewayError,
) => Promise<Map<string, InlineImage>>;

/** Parses a `data:<mime>;base64,<data>` URL; undefined for anything else. */
export function parseDataUrl(url: string): InlineImage | undefined {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return m ? { mimeType: (m[1] as string).toLowerCase(), base64: m[2] as string } : undefined;
}

/** Whether an IP address is loopback, private, link-local, CGNAT or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const host = address.replace(/^\[|\]$/g, "").toLowerCase();
  if (host.startsWith("::ffff:")) return isPrivateAddress(host.slice(7));
  const family = isIP(host);
  if (family === 4) {
    const [a, b] = host.split(".").map(Number) as [number, number];
    return a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224;
  }
  if (family === 6) return host === "::1" || host === "::" || host.startsWith("fc") || host.startsWith("fd") || host.startsWith("fe80") || host.startsWith("ff");
  return false;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A DNS lookup that refuses names resolving to private addresses, so that
 * the check holds for every name (hosts files, cluster names, wildcard DNS)
 * and at connect time (no DNS rebinding between check and use).
 */
function publicOnlyLookup(hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void {
  dnsLookup(hostname, { family: options.family ?? 0, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const allowed = addresses.filter((a) => !isPrivateAddress(a.address));
    if (allowed.length === 0) return callback(Object.assign(new Error(`${hostname} resolves to a private address`), { code: "EPRIVATE" }), []);
    if (options.all) return callback(null, allowed);
    const first = allowed[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
}

/** Limits of image fetching. */
export interface ImageFetchLimits {
  /** Largest image, in bytes. */
  readonly maxBytes: number;
  /** Time for one image. */
  readonly timeoutMs: number;
  /** Most images fetched for one request. */
  readonly maxImages: number;
  /** Allow loopback and private addresses (for local development and tests). */
  readonly allowPrivate: boolean;
}

/** How many images of one request are fetched at a time. */
const CONCURRENCY = 4;

/**
 * Creates the {@link ImageFetcher}: its own connection pool, whose DNS
 * lookup refuses private addresses unless allowed. Error messages are the
 * same whatever the target answered, so the fetcher cannot probe internal
 * services.
 */
export function createImageFetcher(limits: ImageFetchLimits): ImageFetcher & { close(): Promise<void> } {
  const agent = new Agent({
    connect: limits.allowPrivate ? { timeout: limits.timeoutMs } : { timeout: limits.timeoutMs, lookup: publicOnlyLookup as never },
  });
  const bad = (message: string, cause?: unknown) => new GatewayError("invalid_request", `image_url: ${message}`, { param: "image_url", cause });

  async function fetchOne(raw: string, signal: AbortSignal): Promise<InlineImage> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch (cause) {
      throw bad("is not a valid URL", cause);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw bad("only http(s) and data: URLs are supported");
    if (!limits.allowPrivate && isIP(url.hostname.replace(/^\[|\]$/g, "")) && isPrivateAddress(url.hostname)) {
      throw bad("private and loopback addresses are not fetched");
    }
    try {
      const res = await request(url.href, { method: "GET", headers: { accept: "image/*" }, signal, dispatcher: agent, maxRedirections: 0 } as never);
      const type = String(res.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      if (res.statusCode !== 200 || !type.startsWith("image/")) {
        await res.body.dump().catch(() => undefined);
        throw bad("the URL did not return an image");
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > limits.maxBytes) {
          res.body.destroy();
          throw bad(`the image is larger than ${limits.maxBytes} bytes`);
        }
        chunks.push(chunk);
      }
      return { mimeType: type, base64: Buffer.concat(chunks).toString("base64") };
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw bad("the image could not be fetched", err);
    }
  }

  const fetchAll: ImageFetcher = async (urls, signal, describe = (_url, err) => err) => {
    const unique = [...new Set(urls)];
    if (unique.length > limits.maxImages) throw bad(`at most ${limits.maxImages} image URLs are fetched for one request`);
    const batch = new AbortController();
    const combined = AbortSignal.any([signal, batch.signal, AbortSignal.timeout(limits.timeoutMs)]);
    const out = new Map<string, InlineImage>();
    let next = 0;
    const worker = async () => {
      while (next < unique.length) {
        const url = unique[next++] as string;
        try {
          out.set(url, await fetchOne(url, combined));
        } catch (err) {
          batch.abort();
          if (signal.aborted) throw new GatewayError("canceled", "the request was canceled", { cause: err });
          throw describe(url, err instanceof GatewayError ? err : bad("the image could not be fetched", err));
        }
      }
    };
    const results = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, unique.length) }, worker));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return out;
  };
  return Object.assign(fetchAll, { close: () => agent.close() });
}
