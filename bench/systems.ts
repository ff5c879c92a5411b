import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SystemName } from "./bench-config.ts";
import type { Target } from "./load-protocol.ts";
import { type Child, freePort, portFromStdout, spawnPinned, SYSTEM_CORE, waitForHttp } from "./processes.ts";

/**
 * The V8 flags `npm start` runs the gateway with (package.json): a young
 * generation of at most 4 MB per semi-space, so scavenges stay short (the
 * default lets it grow until each takes 10-16 ms on one core).
 */
const GATEWAY_NODE_FLAGS = ["--max-semi-space-size=4"];

/** A system under test, started and ready. */
export interface SystemUnderTest {
  readonly name: SystemName;
  /** Human name for the report. */
  readonly label: string;
  /** The process to watch for CPU and memory; undefined for `direct`. */
  readonly child: Child | undefined;
  readonly target: Target;
}

/** What every system needs to know about the run. */
export interface SystemContext {
  /** The fake upstream's origin, http://127.0.0.1:PORT. */
  readonly fakeOrigin: string;
  /** Scratch directory for databases and logs. */
  readonly dir: string;
  readonly gatewayNodeArgs: readonly string[];
  readonly gatewayLogLevel: string;
}

const ROOT = new URL("../", import.meta.url).pathname;
const BENCH = new URL("./", import.meta.url).pathname;
const UPSTREAM_KEY = "sk-bench-upstream";
const ADMIN_KEY = "bench-admin-key-0123456789abcdef";
const JSON_HEADERS = { "content-type": "application/json" };

/** PATH and HOME only: nothing else of the suite's environment (provider keys, say) leaks into a system. */
function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME };
}

async function startBare(ctx: SystemContext): Promise<SystemUnderTest> {
  const child = spawnPinned("bare proxy", SYSTEM_CORE, process.execPath, [join(BENCH, "bare-proxy.ts")], { env: { ...baseEnv(), PORT: "0", UPSTREAM: ctx.fakeOrigin } });
  const port = await portFromStdout(child);
  return { name: "bare", label: "bare undici proxy", child, target: { url: `http://127.0.0.1:${port}/v1/chat/completions`, headers: { ...JSON_HEADERS, authorization: `Bearer ${UPSTREAM_KEY}` } } };
}

/**
 * This gateway as `node src/main.ts`, configured as in production: a file
 * database (so the journaled usage ledger), metrics (always on), and the
 * client authenticating with a gateway key issued over `POST /v1/keys`, with
 * a (never reached) monthly budget so admission control runs as well.
 */
async function startGateway(ctx: SystemContext): Promise<SystemUnderTest> {
  const port = await freePort();
  const env = {
    ...baseEnv(),
    PORT: String(port),
    HOST: "127.0.0.1",
    GATEWAY_ADMIN_KEY: ADMIN_KEY,
    GATEWAY_DB_PATH: join(ctx.dir, "gateway.db"),
    GATEWAY_SHUTDOWN_TIMEOUT_MS: "2000",
    OPENAI_BASE_URL: `${ctx.fakeOrigin}/v1`,
    OPENAI_API_KEY: UPSTREAM_KEY,
    LOG_LEVEL: ctx.gatewayLogLevel,
  };
  const child = spawnPinned("gateway", SYSTEM_CORE, process.execPath, [...GATEWAY_NODE_FLAGS, ...ctx.gatewayNodeArgs, join(ROOT, "src/main.ts")], { env, cwd: ROOT, logFile: join(ctx.dir, "gateway.log") });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(`${origin}/healthz`, child);
  const res = await fetch(`${origin}/v1/keys`, {
    method: "POST",
    headers: { ...JSON_HEADERS, authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ user_id: "bench", name: "bench-client", budget_usd: 1_000_000, budget_period: "month" }),
  });
  const key = (await res.json()) as { secret?: string };
  if (res.status !== 201 || !key.secret) throw new Error(`gateway: POST /v1/keys answered ${res.status} ${JSON.stringify(key)}`);
  return { name: "gateway", label: "this gateway", child, target: { url: `${origin}/v1/chat/completions`, headers: { ...JSON_HEADERS, authorization: `Bearer ${key.secret}` } } };
}

/**
 * Portkey's Node server (`build/start-server.js` of `@portkey-ai/gateway`,
 * headless), routed to the fake by its headers: provider `openai` with a
 * custom host (127.0.0.1 is one of its default trusted hosts).
 */
async function startPortkey(ctx: SystemContext): Promise<SystemUnderTest> {
  const port = await freePort();
  const script = join(BENCH, "node_modules/@portkey-ai/gateway/build/start-server.js");
  const child = spawnPinned("portkey", SYSTEM_CORE, process.execPath, [script, `--port=${port}`, "--headless"], { env: { ...baseEnv(), NODE_ENV: "production" }, cwd: BENCH, logFile: join(ctx.dir, "portkey.log") });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(`${origin}/`, child);
  const headers = { ...JSON_HEADERS, authorization: `Bearer ${UPSTREAM_KEY}`, "x-portkey-provider": "openai", "x-portkey-custom-host": `${ctx.fakeOrigin}/v1` };
  const { version } = JSON.parse(readFileSync(join(BENCH, "node_modules/@portkey-ai/gateway/package.json"), "utf8")) as { version: string };
  return { name: "portkey", label: `Portkey ${version}`, child, target: { url: `${origin}/v1/chat/completions`, headers } };
}

/** Starts one system under test (pinned to the system core) and waits until it serves. */
export async function startSystem(name: SystemName, ctx: SystemContext): Promise<SystemUnderTest> {
  switch (name) {
    case "direct":
      return { name, label: "direct (no proxy)", child: undefined, target: { url: `${ctx.fakeOrigin}/v1/chat/completions`, headers: { ...JSON_HEADERS, authorization: `Bearer ${UPSTREAM_KEY}` } } };
    case "bare":
      return startBare(ctx);
    case "gateway":
      return startGateway(ctx);
    case "portkey":
      return startPortkey(ctx);
    default: {
      const never: never = name;
      throw new Error(`unknown system ${String(never)}`);
    }
  }
}
