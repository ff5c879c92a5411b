import { createHash, timingSafeEqual } from "node:crypto";
import { GatewayError } from "../errors/gateway-error.ts";

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Creates a constant-time test of whether a token's SHA-256 digest is the admin key's. */
export function createAdminDigestTest(adminKey: string): (digest: Buffer) => boolean {
  const expected = createHash("sha256").update(adminKey).digest();
  return (digest) => digest.length === expected.length && timingSafeEqual(digest, expected);
}

/** Creates a constant-time test of whether a token is the admin key. */
export function createAdminKeyTest(adminKey: string): (token: string) => boolean {
  const isAdminDigest = createAdminDigestTest(adminKey);
  return (token) => isAdminDigest(createHash("sha256").update(token).digest());
}

/**
 * Creates a check that an Authorization header carries the admin key,
 * compared in constant time (through SHA-256 digests, so lengths leak nothing).
 */
export function createAdminAuth(adminKey: string): (authorization: string | null | undefined) => void {
  const isAdminKey = createAdminKeyTest(adminKey);
  return (authorization) => {
    const token = bearerToken(authorization);
    if (token === undefined) {
      throw new GatewayError("unauthenticated", "this endpoint needs the admin key as 'Authorization: Bearer <key>'");
    }
    if (!isAdminKey(token)) throw new GatewayError("unauthenticated", "the admin key is not valid");
  };
}
