import type { UsageRecord } from "./usage-record.ts";

/** Which records. Times are [from, to). */
export interface UsageFilter {
  readonly from?: Date;
  readonly to?: Date;
  readonly userId?: string;
  readonly keyId?: string;
  readonly model?: string;
  readonly provider?: string;
}

/** What aggregates can be grouped by. */
export type UsageGroupBy = "user" | "model" | "provider" | "day";

/** An aggregate over records that share the grouped fields. */
export interface UsageGroup {
  readonly user_id?: string;
  readonly model?: string;
  readonly provider?: string;
  readonly day?: string;
  readonly requests: number;
  readonly errors: number;
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly cached_tokens: number;
  readonly cost_usd: number;
}

/** A position in the ledger's (time, id) order, for paging. */
export interface LedgerCursor {
  readonly time: number;
  readonly id: string;
}

/**
 * The usage ledger. `append` resolves only once the record is durable (it
 * survives the process being killed). The embedded SQLite ledger is the
 * default; a PostgreSQL ledger implements the same interface.
 */
export interface UsageLedger {
  append(record: UsageRecord): Promise<void>;
  /** Records in (time, id) order after `after`, at most `limit`. */
  list(filter: UsageFilter, limit: number, after?: LedgerCursor): Promise<UsageRecord[]>;
  aggregate(filter: UsageFilter, groupBy: readonly UsageGroupBy[]): Promise<UsageGroup[]>;
  /** USD a key spent since a time (ever, when undefined). */
  spentSince(keyId: string, since: Date | undefined): Promise<number>;
}
