import { UNKNOWN_MODEL } from "./metrics.ts";

/**
 * Bounded metric labels for model names. Names an operator declared (model
 * routes, providers' model lists) are labels at once; any other name (one a
 * default pattern or `provider/model` routed) becomes a label only once an
 * upstream has served it, so clients cannot inflate the series; before that
 * it counts as "unknown". Bounded, in case an upstream accepts any name.
 */
export interface ModelLabels {
  /** The label for `model`; `declared` when an operator named it. */
  of(model: string, declared: boolean): string;
  /** An upstream served `model`: it may be a label from now on. */
  served(model: string): void;
}

/** Most undeclared names that become labels. */
const MAX_SERVED = 1000;

/** Creates the {@link ModelLabels}. */
export function createModelLabels(): ModelLabels {
  const served = new Set<string>();
  return {
    of: (model, declared) => (declared || served.has(model) ? model : UNKNOWN_MODEL),
    served(model) {
      if (served.size < MAX_SERVED) served.add(model);
    },
  };
}
