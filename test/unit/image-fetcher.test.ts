import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageFetcher, isPrivateAddress, parseDataUrl } from "../../src/upstream/image-fetcher.ts";

const PNG = Buffer.from("89504e470d0a1a0a", "hex");

describe("image fetching", () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/big.png") {
        res.writeHead(200, { "content-type": "image/png" });
        return res.end(Buffer.alloc(4096));
      }
      if (req.url === "/page") {
        res.writeHead(200, { "content-type": "text/html" });
        return res.end("<html>secret admin page</html>");
      }
      res.writeHead(200, { "content-type": "image/png" });
      res.end(PNG);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const limits = { maxBytes: 1024, timeoutMs: 2000, maxImages: 3, allowPrivate: true };

  it("fetches images as base64 with their media type", async () => {
    const fetcher = createImageFetcher(limits);
    const images = await fetcher([`http://127.0.0.1:${port}/a.png`], AbortSignal.timeout(5000));
    expect(images.get(`http://127.0.0.1:${port}/a.png`)).toEqual({ mimeType: "image/png", base64: PNG.toString("base64") });
    await fetcher.close();
  });

  it("refuses names that resolve to private addresses, not only literal ones, without telling what answered", async () => {
    const fetcher = createImageFetcher({ ...limits, allowPrivate: false });
    for (const url of [`http://127.0.0.1:${port}/a.png`, `http://localhost:${port}/a.png`, `http://localhost:${port}/page`]) {
      const err = await fetcher([url], AbortSignal.timeout(5000)).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: "invalid_request", param: "image_url" });
      expect(String((err as Error).message)).not.toMatch(/html|200|secret/);
    }
    await fetcher.close();
  });

  it("limits the size of an image, the number of images, and refuses what is not an image", async () => {
    const fetcher = createImageFetcher(limits);
    const signal = AbortSignal.timeout(5000);
    await expect(fetcher([`http://127.0.0.1:${port}/big.png`], signal)).rejects.toThrow(/larger than 1024 bytes/);
    await expect(fetcher([1, 2, 3, 4].map((i) => `http://127.0.0.1:${port}/${i}.png`), signal)).rejects.toThrow(/at most 3/);
    await expect(fetcher([`http://127.0.0.1:${port}/page`], signal)).rejects.toThrow(/did not return an image/);
    await expect(fetcher(["ftp://example.com/a.png"], signal)).rejects.toThrow(/http\(s\)/);
    await fetcher.close();
  });

  it("reads data URLs and knows private addresses", () => {
    expect(parseDataUrl("data:image/PNG;base64,AAAA")).toEqual({ mimeType: "image/png", base64: "AAAA" });
    expect(parseDataUrl("https://x/y.png")).toBeUndefined();
    for (const a of ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "::1", "fd00::1", "::ffff:127.0.0.1", "100.64.0.1"]) expect(isPrivateAddress(a)).toBe(true);
    for (const a of ["8.8.8.8", "2606:4700::1111", "172.32.0.1"]) expect(isPrivateAddress(a)).toBe(false);
  });
});
