/**
 * Messages between the suite and its load generator process (over Node's
 * IPC channel): the suite sends one {@link LoadCommand} at a time and gets
 * back its result. Latencies are in ms; `cores` is the load generator's own
 * CPU over the command as a share of one core.
 */
import type { Percentiles } from "./stats.ts";

/** Where and how to send: the chat completions URL and the request headers. */
export interface Target {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Requests one after another on one connection (concurrency 1). */
export interface SequentialCommand {
  readonly kind: "sequential";
  readonly target: Target;
  readonly body: string;
  readonly warmup: number;
  readonly count: number;
}

/** Open loop: requests sent at a fixed rate whatever the answers do; latency counts from each request's scheduled time. */
export interface RateCommand {
  readonly kind: "rate";
  readonly target: Target;
  readonly body: string;
  /** Requests per second. */
  readonly rate: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Connections of the pool; requests beyond them queue (and their wait counts). */
  readonly connections: number;
}

/** Closed loop of streams: `concurrency` connections, each running `perWorker` streams back to back. */
export interface StreamsCommand {
  readonly kind: "streams";
  readonly target: Target;
  readonly body: string;
  readonly concurrency: number;
  /** Streams per connection: the first is warm-up and the last is a tail that keeps the load up; those between are measured. */
  readonly perWorker: number;
  /** Whether the first and last streams per connection are left out of the samples. */
  readonly warmAndTail: boolean;
  /** Connection starts are spread evenly over this window. */
  readonly spreadMs: number;
  /** Content deltas each stream must carry. */
  readonly deltas: number;
}

/** Clients that send a streaming request, read the response head, then stop reading for `holdMs`. */
export interface SlowReadersCommand {
  readonly kind: "slow-readers";
  readonly target: Target;
  readonly body: string;
  readonly clients: number;
  readonly holdMs: number;
}

/** Every command the load generator takes. */
export type LoadCommand = SequentialCommand | RateCommand | StreamsCommand | SlowReadersCommand;

/** Result of a {@link SequentialCommand}. */
export interface SequentialResult {
  readonly latency: Percentiles;
  readonly errors: number;
  readonly error?: string;
  readonly cores: number;
}

/** Result of a {@link RateCommand}, over its measured window. */
export interface RateResult {
  readonly latency: Percentiles;
  /** Requests scheduled in the measured window. */
  readonly sent: number;
  readonly errors: number;
  readonly error?: string;
  /** Measured requests per second actually sent. */
  readonly achievedRate: number;
  /** How late the load generator fired requests (its own saturation shows here). */
  readonly lag: Percentiles;
  readonly cores: number;
}

/** Result of a {@link StreamsCommand}. */
export interface StreamsResult {
  /** Request sent to the first content delta. */
  readonly ttft: Percentiles;
  /** Between consecutive content deltas of a stream. */
  readonly gap: Percentiles;
  /** Streams run, warm-up and tail included. */
  readonly streams: number;
  readonly errors: number;
  readonly error?: string;
  readonly wallMs: number;
  readonly cores: number;
}

/** Result of a {@link SlowReadersCommand}. */
export interface SlowReadersResult {
  /** Clients that got a response head. */
  readonly opened: number;
  readonly errors: number;
  readonly error?: string;
}

/** A reply on the IPC channel. */
export interface LoadReply {
  readonly id: number;
  readonly result?: SequentialResult | RateResult | StreamsResult | SlowReadersResult;
  readonly failure?: string;
}
