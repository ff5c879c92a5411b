import { maskKey } from "../admin/provider-admin.ts";
import type { ProviderRecord } from "../providers/provider.ts";

/** A provider as the REST admin API shows it: the API key masked. */
export function providerJson(p: ProviderRecord): Record<string, unknown> {
  return {
    name: p.name,
    type: p.type,
    base_url: p.baseUrl,
    api_key: maskKey(p.apiKey),
    model_names: p.modelNames,
    drop_unsupported_params: p.dropUnsupportedParams,
    create_time: p.createTime.toISOString(),
    update_time: p.updateTime.toISOString(),
  };
}
