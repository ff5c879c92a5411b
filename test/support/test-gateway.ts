import { loadConfig } from "../../src/config/config.ts";
import { startGateway, type Gateway } from "../../src/gateway.ts";
import { createLogger } from "../../src/log/logger.ts";

/** The admin key every test gateway uses. */
export const ADMIN_KEY = "test-admin-key-0123456789";

/**
 * Starts a real gateway on 127.0.0.1, port 0, with an in-memory database
 * unless `env.GATEWAY_DB_PATH` says otherwise, configured from `env` exactly
 * as `npm start` would be. Log lines are collected in `logs`.
 */
export async function startTestGateway(env: Record<string, string> = {}): Promise<Gateway & { logs: string[] }> {
  const logs: string[] = [];
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", GATEWAY_ADMIN_KEY: ADMIN_KEY, GATEWAY_DB_PATH: ":memory:", GATEWAY_SHUTDOWN_TIMEOUT_MS: "2000", ...env });
  const gateway = await startGateway(config, { logger: createLogger({ level: "info", write: (l) => logs.push(l) }) });
  return Object.assign(gateway, { logs });
}
