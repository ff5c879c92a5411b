import { createAnthropicAdapter } from "./anthropic/anthropic-adapter.ts";
import { createGeminiAdapter } from "./gemini/gemini-adapter.ts";
import { createOpenAIAdapter } from "./openai/openai-adapter.ts";
import type { AdapterDeps, ProviderAdapter, ProviderType } from "./provider.ts";

/** What the gateway knows about one wire protocol. */
export interface ProviderTypeInfo {
  /** Path appended to a base URL that has none (OpenAI: "/v1"). */
  readonly versionPath: string;
  /** Creates the adapter; undefined where this build has none yet. */
  readonly createAdapter?: (deps: AdapterDeps) => ProviderAdapter;
  /** Headers that authenticate a request with an API key (for health probes; adapters set their own). */
  readonly authHeaders: (apiKey: string) => Record<string, string>;
}

/** The one list of wire protocols. */
export const providerTypes: Readonly<Record<ProviderType, ProviderTypeInfo>> = {
  openai: { versionPath: "/v1", createAdapter: createOpenAIAdapter, authHeaders: (key): Record<string, string> => (key === "" ? {} : { authorization: `Bearer ${key}` }) },
  anthropic: {
    versionPath: "/v1",
    createAdapter: createAnthropicAdapter,
    authHeaders: (key) => ({ "anthropic-version": "2023-06-01", ...(key === "" ? {} : { "x-api-key": key }) }),
  },
  gemini: { versionPath: "/v1beta", createAdapter: createGeminiAdapter, authHeaders: (key): Record<string, string> => (key === "" ? {} : { "x-goog-api-key": key }) },
};

/** A provider the gateway configures from the environment, and the model names it claims by default. */
export interface BuiltinProvider {
  /** Provider name; also what the default patterns route to. */
  readonly name: string;
  readonly type: ProviderType;
  /** Prefix of its variables: `${env}_API_KEY`, `${env}_BASE_URL`. */
  readonly env: string;
  readonly defaultBaseUrl: string;
  /** Model name patterns (`*` matches any run of characters) routed to it when no provider lists the model. */
  readonly patterns: readonly string[];
}

/** The one list of built-in providers: OpenAI, Anthropic, Google and Meta (through its OpenAI-compatible API). */
export const builtinProviders: readonly BuiltinProvider[] = [
  { name: "openai", type: "openai", env: "OPENAI", defaultBaseUrl: "https://api.openai.com", patterns: ["gpt-*", "o1*", "o3*", "o4*", "chatgpt-*"] },
  { name: "anthropic", type: "anthropic", env: "ANTHROPIC", defaultBaseUrl: "https://api.anthropic.com", patterns: ["claude-*"] },
  { name: "google", type: "gemini", env: "GOOGLE", defaultBaseUrl: "https://generativelanguage.googleapis.com", patterns: ["gemini-*"] },
  { name: "meta", type: "openai", env: "META", defaultBaseUrl: "https://api.llama.com/compat/v1", patterns: ["llama-*", "Llama-*"] },
];

/** Whether this build can call upstreams of a type. */
export function isSupportedType(type: ProviderType): boolean {
  return providerTypes[type].createAdapter !== undefined;
}

/**
 * The base URL requests go to: a URL without a path gets the protocol's
 * version path; one with a path is used as given. Trailing slashes go.
 */
export function effectiveBaseUrl(type: ProviderType, baseUrl: string): string {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.origin}${path === "" ? providerTypes[type].versionPath : path}`;
}

/** Creates one adapter per supported type. */
export function createAdapters(deps: AdapterDeps): Map<ProviderType, ProviderAdapter> {
  const adapters = new Map<ProviderType, ProviderAdapter>();
  for (const [type, info] of Object.entries(providerTypes) as [ProviderType, ProviderTypeInfo][]) {
    if (info.createAdapter) adapters.set(type, info.createAdapter(deps));
  }
  return adapters;
}
