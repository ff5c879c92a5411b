/** Request rate of grid step `k`: 250 · 2^(k/4) requests/s, so four steps double it. */
export function rateOf(k: number): number {
  return Math.round(250 * 2 ** (k / 4));
}

/** Lowest grid step: 62 requests/s. */
export const MIN_STEP = -8;

/** The grid step nearest `rate`. */
export function stepOf(rate: number): number {
  return Math.max(MIN_STEP, Math.round(4 * Math.log2(rate / 250)));
}

/**
 * Searches the rate grid for the highest passing step: doubling up from the
 * start (or halving down to {@link MIN_STEP} when the start fails), then bisecting between the
 * last pass and the first failure until they are neighbours.
 */
export class FrontierSearch {
  #k: number;
  #maxK: number;
  #pass: number | undefined;
  #fail: number | undefined;

  constructor(startRate: number, maxRate: number) {
    this.#k = stepOf(startRate);
    this.#maxK = stepOf(maxRate);
  }

  /** The next step to probe; undefined when the search is over. */
  next(): number | undefined {
    const pass = this.#pass;
    const fail = this.#fail;
    if (pass === undefined && fail === undefined) return this.#k;
    if (pass === undefined) return fail === MIN_STEP ? undefined : Math.max(MIN_STEP, (fail as number) - 4);
    if (fail === undefined) return pass + 4 > this.#maxK ? undefined : pass + 4;
    return fail - pass > 1 ? Math.floor((pass + fail) / 2) : undefined;
  }

  /** Records a probe's outcome. */
  report(k: number, passed: boolean): void {
    if (passed) this.#pass = Math.max(this.#pass ?? k, k);
    else this.#fail = Math.min(this.#fail ?? k, k);
  }

  /** Highest passing step, undefined when none passed. */
  get best(): number | undefined {
    return this.#pass;
  }

  /** Lowest failing step, undefined when none failed. */
  get firstFail(): number | undefined {
    return this.#fail;
  }
}
