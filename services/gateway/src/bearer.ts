import type { NextFunction, Request, Response } from "express";
import { safeEqual } from "@voicecall/auth";

/** The API's bearer check (constant-time compare), shared by every authenticated route. */
export function hasBearer(req: Request, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(req.get("authorization") ?? "");
  return !!m && safeEqual(m[1]!, token);
}

/** Middleware: 401 with `WWW-Authenticate: Bearer` unless the request carries `token`. */
export function requireBearer(token: string, message = "unauthorized") {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!hasBearer(req, token)) return void res.status(401).set("www-authenticate", "Bearer").json({ error: message });
    next();
  };
}
