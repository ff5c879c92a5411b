/** The outcome of a rate-limit check. */
export type LimitDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/**
 * Per-minute limits over a sliding window. The in-memory limiter serves one
 * process; a Redis limiter serves several replicas through the same interface.
 */
export interface RateLimiter {
  /**
   * Takes `amount` from `key`'s window if that keeps it within `limitPerMinute`.
   * Refused takes count nothing.
   */
  take(key: string, amount: number, limitPerMinute: number): Promise<LimitDecision>;
  /** Whether `key`'s window is still under `limitPerMinute`, without taking anything. */
  check(key: string, limitPerMinute: number): Promise<LimitDecision>;
  /** Counts `amount` against `key` without checking (usage known only afterwards, such as tokens). */
  add(key: string, amount: number): Promise<void>;
}

const SLOTS = 60;

interface Window {
  /** Amount per one-second slot, a ring indexed by second modulo 60. */
  readonly slots: number[];
  /** The second each slot was last written in. */
  readonly seconds: number[];
  lastSeen: number;
}

/**
 * Creates the in-memory {@link RateLimiter}: 60 one-second slots per key, so a
 * check costs O(60) and memory is bounded by the number of active keys (idle
 * windows are swept).
 */
export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, Window>();
  let lastSweep = 0;

  function windowOf(key: string, second: number): Window {
    if (second - lastSweep > SLOTS) {
      for (const [k, w] of windows) if (second - w.lastSeen > SLOTS) windows.delete(k);
      lastSweep = second;
    }
    let w = windows.get(key);
    if (!w) {
      w = { slots: new Array<number>(SLOTS).fill(0), seconds: new Array<number>(SLOTS).fill(-SLOTS), lastSeen: second };
      windows.set(key, w);
    }
    w.lastSeen = second;
    return w;
  }

  function used(w: Window, second: number): { total: number; oldest: number } {
    let total = 0;
    let oldest = second;
    for (let i = 0; i < SLOTS; i++) {
      const s = w.seconds[i] as number;
      if (second - s < SLOTS && (w.slots[i] as number) > 0) {
        total += w.slots[i] as number;
        if (s < oldest) oldest = s;
      }
    }
    return { total, oldest };
  }

  function put(w: Window, second: number, amount: number): void {
    const i = second % SLOTS;
    if (w.seconds[i] !== second) {
      w.seconds[i] = second;
      w.slots[i] = 0;
    }
    w.slots[i] = (w.slots[i] as number) + amount;
  }

  function decide(w: Window, second: number, amount: number, limit: number): LimitDecision {
    const { total, oldest } = used(w, second);
    if (total + amount <= limit || total === 0) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, oldest + SLOTS - second) };
  }

  return {
    async take(key, amount, limit) {
      const second = Math.floor(now() / 1000);
      const w = windowOf(key, second);
      const decision = decide(w, second, amount, limit);
      if (decision.ok) put(w, second, amount);
      return decision;
    },
    async check(key, limit) {
      const second = Math.floor(now() / 1000);
      const { total, oldest } = used(windowOf(key, second), second);
      return total < limit ? { ok: true } : { ok: false, retryAfterSeconds: Math.max(1, oldest + SLOTS - second) };
    },
    async add(key, amount) {
      const second = Math.floor(now() / 1000);
      put(windowOf(key, second), second, amount);
    },
  };
}
