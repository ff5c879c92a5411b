import type { Dispatcher } from "undici";

/** The parts of a request the load generator sends. */
export interface Exchange {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends one POST through undici's dispatch API (no body stream, no promise
 * per chunk: the cheapest way undici offers), calling `onData` with each body
 * chunk as it arrives. Resolves with the status once the body has ended;
 * rejects on a transport error.
 */
export function exchange(dispatcher: Dispatcher, ex: Exchange, onData?: (chunk: Buffer, now: number) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let status = 0;
    dispatcher.dispatch(
      { path: ex.path, method: "POST", headers: ex.headers, body: ex.body },
      {
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData(_controller, chunk) {
          onData?.(chunk, performance.now());
        },
        onResponseEnd() {
          resolve(status);
        },
        onResponseError(_controller, err) {
          reject(err);
        },
      },
    );
  });
}
