import { createAdminDigestTest } from "../../src/admin/admin-auth.ts";
import { describe, expect, it } from "vitest";
import { hashSecret } from "../../src/keys/api-key.ts";
import { createKeyService } from "../../src/keys/key-service.ts";
import { createSqliteKeyStore } from "../../src/keys/sqlite-key-store.ts";
import { openDatabase } from "../../src/store/database.ts";

function service(now = () => new Date("2026-01-01T00:00:00Z")) {
  const db = openDatabase(":memory:");
  return { db, keys: createKeyService({ store: createSqliteKeyStore(db), isAdminDigest: createAdminDigestTest("admin-secret"), now }) };
}

describe("gateway keys", () => {
  it("stores only a hash of the secret and authenticates with the secret", async () => {
    const { db, keys } = service();
    const { key, secret } = await keys.create({ user_id: "alice", models: ["gpt-4o"], rpm: 60 });
    const row = db.prepare("SELECT * FROM api_keys").get() as Record<string, unknown>;
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.secret_hash).toBe(hashSecret(secret));
    expect(await keys.authenticate(`Bearer ${secret}`)).toMatchObject({ userId: "alice", keyId: key.id });
  });

  it("accepts the admin key as user admin", async () => {
    expect(await service().keys.authenticate("Bearer admin-secret")).toMatchObject({ userId: "admin", keyId: "admin" });
  });

  it.each([undefined, "", "Basic abc", "Bearer nope"])("refuses %j with invalid_api_key", async (header) => {
    await expect(service().keys.authenticate(header)).rejects.toMatchObject({ kind: "unauthenticated", openaiCode: "invalid_api_key" });
  });

  it("refuses a revoked key on the next request, and an expired one", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const { keys } = service(() => now);
    const a = await keys.create({ user_id: "alice" });
    await keys.authenticate(`Bearer ${a.secret}`);
    await keys.revoke(a.key.id);
    await expect(keys.authenticate(`Bearer ${a.secret}`)).rejects.toThrow(/revoked/);
    const b = await keys.create({ user_id: "bob", expires_at: "2026-01-02T00:00:00Z" });
    await keys.authenticate(`Bearer ${b.secret}`);
    now = new Date("2026-01-03T00:00:00Z");
    await expect(keys.authenticate(`Bearer ${b.secret}`)).rejects.toThrow(/expired/);
  });

  it.each([
    [{}, "user_id"],
    [{ user_id: "a b" }, "user_id"],
    [{ user_id: "a", budget_usd: -1 }, "budget_usd"],
    [{ user_id: "a", budget_period: "week" }, "budget_period"],
    [{ user_id: "a", rpm: 1.5 }, "rpm"],
    [{ user_id: "a", expires_at: "soon" }, "expires_at"],
  ])("rejects %j naming %s", async (input, param) => {
    await expect(service().keys.create(input)).rejects.toMatchObject({ param });
  });
});
