import { ConnectError } from "@connectrpc/connect";
import { errorTable, toGatewayError } from "../errors/gateway-error.ts";

/**
 * Runs an RPC body and reports any failure as a ConnectError with the code
 * of the one error table; `Retry-After` and `x-gateway-attempts` travel as
 * response metadata.
 */
export async function withConnectErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toConnectError(err);
  }
}

/** Maps anything thrown to a ConnectError that is safe to send. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = toGatewayError(err);
  const metadata = new Headers();
  if (e.retryAfterSeconds !== undefined) metadata.set("retry-after", String(e.retryAfterSeconds));
  if (e.attempts !== undefined) metadata.set("x-gateway-attempts", String(e.attempts));
  return new ConnectError(e.message, errorTable[e.kind].code, metadata);
}
