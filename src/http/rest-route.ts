import type { HttpRequest, HttpResponse } from "./http-types.ts";

/** Handles one method of one route; `params` are the path pattern's captures, decoded. */
export type RestHandler = (req: HttpRequest, res: HttpResponse, params: string[]) => Promise<void> | void;

/** A path pattern and its handlers by method. */
export interface RestRoute {
  readonly path: RegExp;
  readonly methods: Readonly<Record<string, RestHandler>>;
}

/** Wraps a handler so it runs only for requests that carry the admin key. */
export function adminOnly(checkAdmin: (authorization: string | undefined) => void, handler: RestHandler): RestHandler {
  return (req, res, params) => {
    checkAdmin(req.headers.authorization);
    return handler(req, res, params);
  };
}

/** The query string of a request as URLSearchParams. */
export function queryOf(req: HttpRequest): URLSearchParams {
  const url = req.url ?? "/";
  const at = url.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : url.slice(at + 1));
}
