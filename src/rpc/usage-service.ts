import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { UsageGroupSchema, UsageRecordSchema, UsageService, type UsageFilter as ProtoFilter } from "../../gen/gateway/v1/usage_pb.js";
import type { BudgetTracker } from "../billing/budget-tracker.ts";
import type { KeyService } from "../keys/key-service.ts";
import type { LedgerCursor, UsageFilter, UsageGroup, UsageLedger } from "../usage/usage-ledger.ts";
import { checkGroupBy, decodeCursor, encodeCursor, pageSize } from "../usage/usage-query.ts";
import type { UsageRecord } from "../usage/usage-record.ts";
import { toConnectError, withConnectErrors } from "./connect-errors.ts";

const date = (t: Timestamp | undefined) => (t ? timestampDate(t) : undefined);

function filterOf(f: ProtoFilter | undefined): UsageFilter {
  return {
    from: date(f?.fromTime),
    to: date(f?.toTime),
    userId: f?.userId || undefined,
    model: f?.model || undefined,
    provider: f?.provider || undefined,
  };
}

function groupToProto(g: UsageGroup) {
  return create(UsageGroupSchema, {
    userId: g.user_id ?? "",
    model: g.model ?? "",
    provider: g.provider ?? "",
    day: g.day ?? "",
    requests: BigInt(g.requests),
    errors: BigInt(g.errors),
    promptTokens: BigInt(g.prompt_tokens),
    completionTokens: BigInt(g.completion_tokens),
    cachedTokens: BigInt(g.cached_tokens),
    costUsd: g.cost_usd,
  });
}

function recordToProto(r: UsageRecord) {
  return create(UsageRecordSchema, {
    ...r,
    time: timestampFromDate(r.time),
    promptTokens: BigInt(r.promptTokens),
    completionTokens: BigInt(r.completionTokens),
    cachedTokens: BigInt(r.cachedTokens),
    reasoningTokens: BigInt(r.reasoningTokens),
    durationMs: BigInt(r.durationMs),
    ttftMs: BigInt(r.ttftMs),
  });
}

/** Registers `gateway.v1.UsageService` over the same ledger as the REST usage API. */
export function registerUsageService(
  router: ConnectRouter,
  deps: { ledger: UsageLedger; keys: KeyService; budgets: BudgetTracker; checkAdmin: (authorization: string | undefined) => void },
): void {
  const { ledger } = deps;
  const admin = (ctx: HandlerContext) => deps.checkAdmin(ctx.requestHeader.get("authorization") ?? undefined);
  router.service(UsageService, {
    getUsage: (req, ctx) =>
      withConnectErrors(async () => {
        admin(ctx);
        return { groups: (await ledger.aggregate(filterOf(req.filter), checkGroupBy(req.groupBy))).map(groupToProto) };
      }),
    listUsageRecords: (req, ctx) =>
      withConnectErrors(async () => {
        admin(ctx);
        const limit = pageSize(req.pageSize, "page_size");
        const records = await ledger.list(filterOf(req.filter), limit + 1, decodeCursor(req.pageToken, "page_token"));
        const page = records.slice(0, limit);
        const last = page[page.length - 1];
        return {
          records: page.map(recordToProto),
          nextPageToken: records.length > limit && last ? encodeCursor({ time: last.time.getTime(), id: last.id }) : "",
        };
      }),
    async *exportUsage(req, ctx) {
      try {
        admin(ctx);
        const filter = filterOf(req.filter);
        for (let after: LedgerCursor | undefined; ; ) {
          const page = await ledger.list(filter, 1000, after);
          for (const r of page) yield { record: recordToProto(r) };
          const last = page[page.length - 1];
          if (!last || page.length < 1000) return;
          after = { time: last.time.getTime(), id: last.id };
        }
      } catch (err) {
        throw toConnectError(err);
      }
    },
    getMyUsage: (req, ctx) =>
      withConnectErrors(async () => {
        const caller = await deps.keys.authenticate(ctx.requestHeader.get("authorization"));
        const groups = await ledger.aggregate({ from: date(req.fromTime), to: date(req.toTime), keyId: caller.keyId }, ["model"]);
        return {
          groups: groups.map(groupToProto),
          budgetUsd: caller.key?.budgetUsd,
          spentUsd: caller.key ? await deps.budgets.spent(caller.key) : 0,
        };
      }),
  });
}
