import type { HandlerContext } from "@connectrpc/connect";
import { GatewayError } from "../errors/gateway-error.ts";
import { withConnectErrors } from "./connect-errors.ts";

/** Runs an admin RPC body once the caller has shown the admin key; failures become ConnectErrors. */
export type AdminGuard = <T>(ctx: HandlerContext, body: () => Promise<T>) => Promise<T>;

/** The guard of every admin service, over the gateway's admin key check. */
export function adminGuard(checkAdmin: (authorization: string | undefined) => void): AdminGuard {
  return (ctx, body) =>
    withConnectErrors(async () => {
      checkAdmin(ctx.requestHeader.get("authorization") ?? undefined);
      return body();
    });
}

/**
 * One page of `items` (sorted by name) after the page token, at most
 * `page_size` (0 means 100, at most 1000); the token is the last name, base64url.
 * @throws GatewayError `invalid_request` for a negative page size.
 */
export function pageByName<T>(items: readonly T[], name: (item: T) => string, req: { pageSize: number; pageToken: string }): { page: T[]; nextPageToken: string } {
  if (req.pageSize < 0) throw new GatewayError("invalid_request", "page_size: must not be negative", { param: "page_size" });
  const size = Math.min(req.pageSize || 100, 1000);
  const after = req.pageToken === "" ? "" : Buffer.from(req.pageToken, "base64url").toString("utf8");
  const rest = items.filter((i) => name(i) > after);
  const page = rest.slice(0, size);
  const last = page[page.length - 1];
  return { page, nextPageToken: rest.length > size && last ? Buffer.from(name(last), "utf8").toString("base64url") : "" };
}
