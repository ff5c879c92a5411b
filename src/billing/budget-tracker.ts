import { GatewayError } from "../errors/gateway-error.ts";
import { periodStart, type ApiKeyRecord } from "../keys/api-key.ts";
import type { UsageLedger } from "../usage/usage-ledger.ts";

/** Money held for one request until its real cost is known. */
export interface BudgetReservation {
  /**
   * Replaces the estimate with the real cost, which counts in the period
   * current at settle time (a request that spans midnight counts today).
   * Call once, on success or failure; later calls do nothing.
   */
  settle(actualUsd: number): Promise<void>;
}

/**
 * Keeps keys within their budgets under concurrency: a request reserves an
 * estimate first and settles to its real cost after, so concurrent requests
 * cannot overspend together. The in-memory tracker serves one process; a
 * Redis tracker serves several replicas through the same interface.
 */
export interface BudgetTracker {
  /** @throws GatewayError `rate_limited` with code `insufficient_quota` when the estimate does not fit. */
  reserve(key: ApiKeyRecord, estimateUsd: number): Promise<BudgetReservation>;
  /** USD spent (settled) in the key's current period. */
  spent(key: ApiKeyRecord): Promise<number>;
}

interface Account {
  readonly period: string;
  spent: number;
  reserved: number;
}

/**
 * Creates the in-memory {@link BudgetTracker}. Each key has one account, for
 * its current period, started from the ledger's spend in that period; an
 * account of a past period is dropped when the key is next used.
 */
export function createMemoryBudgetTracker(deps: { ledger: UsageLedger; now?: () => Date }): BudgetTracker {
  const now = deps.now ?? (() => new Date());
  const accounts = new Map<string, Account>();
  const loading = new Map<string, Promise<Account>>();

  function account(key: ApiKeyRecord): Promise<Account> {
    const start = periodStart(key.budgetPeriod, now());
    const period = `${key.budgetPeriod}:${start?.getTime() ?? "total"}`;
    const current = accounts.get(key.id);
    if (current?.period === period) return Promise.resolve(current);
    const id = `${key.id}|${period}`;
    let pending = loading.get(id);
    if (!pending) {
      pending = deps.ledger.spentSince(key.id, start).then((spent) => {
        const fresh: Account = { period, spent, reserved: 0 };
        accounts.set(key.id, fresh);
        loading.delete(id);
        return fresh;
      });
      loading.set(id, pending);
    }
    return pending;
  }

  return {
    async reserve(key, estimateUsd) {
      const a = await account(key);
      // From here to the end nothing awaits: check and reserve are one step.
      const budget = key.budgetUsd;
      if (budget !== undefined && a.spent + a.reserved + estimateUsd > budget) {
        throw new GatewayError(
          "rate_limited",
          `this key's budget of $${budget} per ${key.budgetPeriod === "total" ? "lifetime" : key.budgetPeriod} is used up ($${a.spent.toFixed(6)} spent, $${a.reserved.toFixed(6)} reserved)`,
          { code: "insufficient_quota", status: 429 },
        );
      }
      a.reserved += estimateUsd;
      let settled = false;
      return {
        async settle(actual) {
          if (settled) return;
          settled = true;
          a.reserved -= estimateUsd;
          (await account(key)).spent += actual;
        },
      };
    },
    async spent(key) {
      return (await account(key)).spent;
    },
  };
}
