import express, { type RequestHandler } from "express";

/** One REST request the simulator received, as the app sent it (form fields in order, repeats kept). */
export interface RestRequest {
  method: string;
  /** Path without the query, e.g. `/2010-04-01/Accounts/AC…/Calls/CA….json`. */
  path: string;
  form: URLSearchParams;
}

/**
 * Records every REST request into `into` before the API answers it (failed and refused ones too), so a
 * test can assert what the app asked of Twilio. Parses the form itself: the API's own parser then skips.
 */
export function recordRestRequests(into: RestRequest[]): RequestHandler[] {
  const raw = new WeakMap<object, string>();
  return [
    express.urlencoded({ extended: false, verify: (req, _res, buf) => void raw.set(req, buf.toString()) }),
    (req, _res, next) => {
      into.push({ method: req.method, path: req.path, form: new URLSearchParams(raw.get(req) ?? "") });
      next();
    },
  ];
}
