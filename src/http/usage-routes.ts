import type { BudgetTracker } from "../billing/budget-tracker.ts";
import { GatewayError } from "../errors/gateway-error.ts";
import type { KeyService } from "../keys/key-service.ts";
import type { UsageLedger } from "../usage/usage-ledger.ts";
import { checkGroupBy, decodeCursor, encodeCursor, pageSize, usageFilterFromQuery } from "../usage/usage-query.ts";
import { USAGE_COLUMNS, usageRow, type UsageRecord } from "../usage/usage-record.ts";
import { sendJson, writeChunk } from "./http-io.ts";
import { adminOnly, queryOf, type RestRoute } from "./rest-route.ts";

function csvField(v: string | number | boolean): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function cursorOf(r: UsageRecord) {
  return { time: r.time.getTime(), id: r.id };
}

/**
 * The usage routes for billing: aggregates, records, a streamed CSV/JSONL
 * export (admin key only), and `/v1/usage/me` for a key's own usage.
 */
export function usageRoutes(deps: {
  ledger: UsageLedger;
  keys: KeyService;
  budgets: BudgetTracker;
  checkAdmin: (authorization: string | undefined) => void;
}): RestRoute[] {
  const { ledger } = deps;
  const guard = (h: Parameters<typeof adminOnly>[1]) => adminOnly(deps.checkAdmin, h);
  return [
    {
      path: /^\/v1\/usage$/,
      methods: {
        GET: guard(async (req, res) => {
          const q = queryOf(req);
          const groupBy = checkGroupBy((q.get("group_by") ?? "").split(",").filter((g) => g !== ""));
          sendJson(res, 200, { object: "list", data: await ledger.aggregate(usageFilterFromQuery(q), groupBy) });
        }),
      },
    },
    {
      path: /^\/v1\/usage\/records$/,
      methods: {
        GET: guard(async (req, res) => {
          const q = queryOf(req);
          const limit = pageSize(q.get("limit"), "limit");
          const records = await ledger.list(usageFilterFromQuery(q), limit + 1, decodeCursor(q.get("after"), "after"));
          const page = records.slice(0, limit);
          const last = page[page.length - 1];
          sendJson(res, 200, {
            object: "list",
            data: page.map(usageRow),
            has_more: records.length > limit,
            next_cursor: records.length > limit && last ? encodeCursor(cursorOf(last)) : null,
          });
        }),
      },
    },
    {
      path: /^\/v1\/usage\/export$/,
      methods: {
        GET: guard(async (req, res) => {
          const q = queryOf(req);
          const format = q.get("format") ?? "jsonl";
          if (format !== "csv" && format !== "jsonl") throw new GatewayError("invalid_request", 'format: must be "csv" or "jsonl"', { param: "format" });
          const filter = usageFilterFromQuery(q);
          res.writeHead(200, {
            "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
            "content-disposition": `attachment; filename="usage.${format}"`,
          });
          if (format === "csv" && !(await writeChunk(res, `${USAGE_COLUMNS.join(",")}\n`))) return;
          for (let after: ReturnType<typeof cursorOf> | undefined; ; ) {
            const page = await ledger.list(filter, 1000, after);
            let text = "";
            for (const r of page) {
              const row = usageRow(r);
              text += format === "csv" ? `${USAGE_COLUMNS.map((c) => csvField(row[c])).join(",")}\n` : `${JSON.stringify(row)}\n`;
            }
            if (text !== "" && !(await writeChunk(res, text))) return;
            const last = page[page.length - 1];
            if (!last || page.length < 1000) break;
            after = cursorOf(last);
          }
          res.end();
        }),
      },
    },
    {
      path: /^\/v1\/usage\/me$/,
      methods: {
        GET: async (req, res) => {
          const caller = await deps.keys.authenticate(req.headers.authorization);
          const q = queryOf(req);
          const filter = { ...usageFilterFromQuery(q), userId: undefined, model: undefined, provider: undefined, keyId: caller.keyId };
          sendJson(res, 200, {
            object: "usage",
            user_id: caller.userId,
            key_id: caller.keyId,
            budget_usd: caller.key?.budgetUsd ?? null,
            budget_period: caller.key?.budgetPeriod ?? null,
            spent_usd: caller.key ? await deps.budgets.spent(caller.key) : null,
            data: await ledger.aggregate(filter, ["model"]),
          });
        },
      },
    },
  ];
}
