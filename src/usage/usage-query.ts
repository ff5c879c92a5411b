import { GatewayError } from "../errors/gateway-error.ts";
import type { LedgerCursor, UsageFilter, UsageGroupBy } from "./usage-ledger.ts";

const GROUPS = new Set(["user", "model", "provider", "day"]);

function time(value: string | null, param: string): Date | undefined {
  if (value === null || value === "") return undefined;
  const t = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  if (Number.isNaN(new Date(t).getTime())) throw new GatewayError("invalid_request", `${param}: must be an ISO 8601 time or Unix seconds`, { param });
  return new Date(t);
}

/** Reads a usage filter from query parameters `from`, `to`, `user_id`, `model`, `provider`. */
export function usageFilterFromQuery(q: URLSearchParams): UsageFilter {
  return {
    from: time(q.get("from"), "from"),
    to: time(q.get("to"), "to"),
    userId: q.get("user_id") ?? undefined,
    model: q.get("model") ?? undefined,
    provider: q.get("provider") ?? undefined,
  };
}

/** Checks `group_by` values (any of user, model, provider, day). */
export function checkGroupBy(values: readonly string[]): UsageGroupBy[] {
  for (const v of values) {
    if (!GROUPS.has(v)) throw new GatewayError("invalid_request", `group_by: "${v}" is not one of user, model, provider, day`, { param: "group_by" });
  }
  return [...new Set(values)] as UsageGroupBy[];
}

/** Encodes a ledger position as an opaque page token. */
export function encodeCursor(c: LedgerCursor): string {
  return Buffer.from(JSON.stringify([c.time, c.id]), "utf8").toString("base64url");
}

/** Decodes a page token. @throws GatewayError naming `param` when it is not one. */
export function decodeCursor(token: string | null | undefined, param: string): LedgerCursor | undefined {
  if (!token) return undefined;
  try {
    const [t, id] = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as [unknown, unknown];
    if (typeof t === "number" && typeof id === "string") return { time: t, id };
  } catch {
    // fall through
  }
  throw new GatewayError("invalid_request", `${param}: is not a token from an earlier response`, { param });
}

/** A page size from 1 to 1000 (default 100). */
export function pageSize(value: number | string | null | undefined, param: string): number {
  if (value === null || value === undefined || value === "" || value === 0) return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new GatewayError("invalid_request", `${param}: must be a positive integer`, { param });
  return Math.min(n, 1000);
}
