import { describe, expect, it } from "vitest";
import { createMemoryBudgetTracker } from "../../src/billing/budget-tracker.ts";
import { createSqlitePriceStore } from "../../src/billing/price-store.ts";
import { costOf, createPricing } from "../../src/billing/pricing.ts";
import type { ApiKeyRecord } from "../../src/keys/api-key.ts";
import { openDatabase } from "../../src/store/database.ts";
import { createSqliteUsageLedger } from "../../src/usage/sqlite-usage-ledger.ts";

const key = (over: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: "key_1",
  userId: "alice",
  name: "",
  secretHash: "h",
  secretPrefix: "gw-",
  models: [],
  budgetUsd: 1,
  budgetPeriod: "total",
  expireTime: undefined,
  rpm: undefined,
  tpm: undefined,
  createTime: new Date(0),
  revokeTime: undefined,
  ...over,
});

describe("pricing", () => {
  it("prices by the most specific built-in prefix, cached tokens at the cached price", async () => {
    const pricing = createPricing({ store: createSqlitePriceStore(openDatabase(":memory:")) });
    const mini = pricing.priceFor("openai", "gpt-4o-mini-2024-07-18");
    expect(mini).toMatchObject({ model: "gpt-4o-mini*", input: 0.15, output: 0.6 });
    expect(pricing.priceFor("meta", "Llama-3.3-70B-Instruct")?.model).toBe("llama-3.3-70b*");
    const usage = { promptTokens: 1_000_000, completionTokens: 1_000_000, totalTokens: 2_000_000, cachedTokens: 500_000, reasoningTokens: 0 };
    expect(costOf(usage, mini)).toBeCloseTo(0.5 * 0.15 + 0.5 * 0.075 + 0.6, 10);
    expect(costOf(usage, undefined)).toBe(0);
  });

  it("lets an operator price override the built-in one for one provider only", async () => {
    const pricing = createPricing({ store: createSqlitePriceStore(openDatabase(":memory:")) });
    await pricing.set({ provider: "azure", model: "gpt-4o", input_per_mtok: 1, output_per_mtok: 2 });
    expect(pricing.priceFor("azure", "gpt-4o")).toMatchObject({ input: 1, output: 2, cachedInput: 1 });
    expect(pricing.priceFor("openai", "gpt-4o")?.input).toBe(2.5);
    await pricing.delete("azure", "gpt-4o");
    expect(pricing.priceFor("azure", "gpt-4o")?.input).toBe(2.5);
  });

  it.each([
    [{ model: "m", input_per_mtok: 1, output_per_mtok: 1 }, "provider"],
    [{ provider: "p", model: "m", input_per_mtok: -1, output_per_mtok: 1 }, "input_per_mtok"],
    [{ provider: "p", model: "m", input_per_mtok: 1, output_per_mtok: 1, colour: "red" }, "colour"],
  ])("rejects %j naming %s", async (input, param) => {
    const pricing = createPricing({ store: createSqlitePriceStore(openDatabase(":memory:")) });
    await expect(pricing.set(input)).rejects.toMatchObject({ param });
  });
});

describe("budgets", () => {
  it("holds concurrent reservations to the budget and settles to the real cost", async () => {
    const budgets = createMemoryBudgetTracker({ ledger: createSqliteUsageLedger(openDatabase(":memory:")) });
    const k = key({ budgetUsd: 1 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => budgets.reserve(k, 0.3)));
    const held = results.filter((r) => r.status === "fulfilled");
    expect(held).toHaveLength(3);
    expect(results.find((r) => r.status === "rejected")).toMatchObject({ reason: { kind: "rate_limited", openaiCode: "insufficient_quota", status: 429 } });
    for (const r of held) (r as PromiseFulfilledResult<{ settle(n: number): void }>).value.settle(0.1);
    expect(await budgets.spent(k)).toBeCloseTo(0.3);
    await expect(budgets.reserve(k, 0.7)).resolves.toBeDefined();
  });

  it("starts a period's spend from the ledger", async () => {
    const ledger = createSqliteUsageLedger(openDatabase(":memory:"));
    await ledger.append({
      id: "r:1", requestId: "r", attempt: 1, time: new Date(), userId: "alice", keyId: "key_1", provider: "p",
      requestedModel: "m", servedModel: "m", promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0,
      costUsd: 0.9, durationMs: 1, ttftMs: 0, status: 200, errorType: "", surface: "openai", streamed: false, tokensEstimated: false,
    });
    const budgets = createMemoryBudgetTracker({ ledger });
    await expect(budgets.reserve(key({ budgetUsd: 1, budgetPeriod: "day" }), 0.2)).rejects.toMatchObject({ openaiCode: "insufficient_quota" });
  });
});
