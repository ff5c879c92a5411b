/** p50, p99 and count of a set of samples, in the samples' unit. */
export interface Percentiles {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
}

/** The `p`-th percentile (nearest rank) of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

/** Sorts a copy of the samples and takes p50 and p99. */
export function percentiles(samples: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** The median (lower middle for an even count) of numbers, NaN ignored; NaN when none. */
export function median(values: readonly number[]): number {
  const xs = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return xs.length === 0 ? Number.NaN : (xs[Math.floor((xs.length - 1) / 2)] as number);
}

/** Appends numbers to a growing Float64Array, without boxing each sample. */
export class SampleBuffer {
  #data = new Float64Array(1024);
  #length = 0;

  push(v: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#length++] = v;
  }

  get length(): number {
    return this.#length;
  }

  /** The samples so far (a view: copy it before pushing more). */
  view(): Float64Array {
    return this.#data.subarray(0, this.#length);
  }
}
