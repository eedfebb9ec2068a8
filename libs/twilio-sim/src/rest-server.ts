import express, { type Request, type Response, type NextFunction } from "express";
import { formatNumber, rfc2822 } from "./sids";
import type { SimCall } from "./call";
import type { DialOutcome, SimKnobs } from "./types";
import { addAccountRoutes, type OwnedNumber } from "./account-routes";
import { magicToRefusal } from "./magic-numbers";

/** Twilio's REST error: `{code, message, more_info, status}`. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface CreateCallRequest {
  To: string;
  From: string;
  Url?: string;
  Method?: string;
  Twiml?: string;
  FallbackUrl?: string;
  FallbackMethod?: string;
  StatusCallback?: string;
  StatusCallbackMethod?: string;
  StatusCallbackEvent: string[];
  MachineDetection?: string;
  AsyncAmd?: string;
  AsyncAmdStatusCallback?: string;
  AsyncAmdStatusCallbackMethod?: string;
  MachineDetectionTimeout?: string;
  Timeout?: string;
  TimeLimit?: string;
}

/** What the REST server needs from the simulator. */
export interface CallRegistry {
  accountSid: string;
  authToken: string;
  create(req: CreateCallRequest, outcome?: DialOutcome): SimCall;
  get(sid: string): SimCall | undefined;
  all(): SimCall[];
  /** The simulator's knobs, read per request. */
  knobs?(): Pick<SimKnobs, "restHangupAnswer">;
  /** Numbers the account owns (for IncomingPhoneNumbers). */
  numbers?(): OwnedNumber[];
}

const str = (v: unknown): string | undefined =>
  Array.isArray(v) ? str(v[v.length - 1]) : typeof v === "string" ? v : undefined;
const list = (v: unknown): string[] =>
  (Array.isArray(v) ? v : typeof v === "string" ? [v] : []).flatMap((x: string) => x.split(/[\s,]+/)).filter(Boolean);
const validUrl = (u: string): boolean => {
  try {
    return /^https?:$/.test(new URL(u).protocol);
  } catch {
    return false;
  }
};

/** The Call resource as Twilio's JSON (snake_case keys, RFC 2822 dates, strings for numbers). */
export function callJson(c: SimCall, accountSid: string): Record<string, unknown> {
  const base = `/2010-04-01/Accounts/${accountSid}/Calls/${c.sid}`;
  const sub = [
    "Notifications",
    "Recordings",
    "Payments",
    "Events",
    "Siprec",
    "Streams",
    "Transcriptions",
    "UserDefinedMessageSubscriptions",
    "UserDefinedMessages",
  ];
  const snake = (s: string) => s.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
  return {
    sid: c.sid,
    account_sid: accountSid,
    parent_call_sid: null,
    date_created: rfc2822(c.dateCreated),
    date_updated: rfc2822(c.dateUpdated),
    to: c.p.to,
    to_formatted: formatNumber(c.p.to),
    from: c.p.from,
    from_formatted: formatNumber(c.p.from),
    phone_number_sid: null,
    status: c.status,
    start_time: c.startTime ? rfc2822(c.startTime) : null,
    end_time: c.endTime && c.live === false ? rfc2822(c.endTime) : null,
    duration: c.live ? null : String(c.durationSec()),
    price: null,
    price_unit: "USD",
    direction: c.p.direction,
    answered_by: c.answeredBy ?? null,
    api_version: "2010-04-01",
    forwarded_from: null,
    group_sid: null,
    caller_name: null,
    queue_time: "0",
    trunk_sid: null,
    uri: `${base}.json`,
    subresource_uris: Object.fromEntries(sub.map((s) => [snake(s), `${base}/${s}.json`])),
  };
}

/** Express app serving the Calls part of the 2010-04-01 API, Basic auth `AccountSid:AuthToken`. */
export function createRestApp(reg: CallRegistry): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use(express.urlencoded({ extended: false }));
  const root = "/2010-04-01/Accounts/:accountSid";

  app.use("/2010-04-01", (req: Request, _res: Response, next: NextFunction) => {
    const h = req.headers.authorization ?? "";
    const [user, pass] = h.startsWith("Basic ") ? Buffer.from(h.slice(6), "base64").toString().split(/:(.*)/s) : [];
    if (user !== reg.accountSid || pass !== reg.authToken) return next(new RestError(401, 20003, "Authenticate"));
    next();
  });
  app.use(root, (req: Request, _res: Response, next: NextFunction) => {
    // `/Accounts/{Sid}.json` (the account itself) reaches this prefix with `.json` on the sid.
    if (req.params.accountSid !== reg.accountSid && req.params.accountSid !== `${reg.accountSid}.json`)
      return next(new RestError(404, 20404, `The requested resource ${req.originalUrl} was not found`));
    next();
  });
  const find = (req: Request): SimCall => {
    const c = reg.get(String(req.params.callSid));
    if (!c) throw new RestError(404, 20404, `The requested resource ${req.originalUrl.split("?")[0]} was not found`);
    return c;
  };

  app.post(`${root}/Calls.json`, (req, res) => {
    const b = req.body ?? {};
    const To = str(b.To);
    const From = str(b.From);
    const Url = str(b.Url);
    const Twiml = str(b.Twiml);
    if (!To) throw new RestError(400, 21201, "No 'To' number is specified");
    if (!From) throw new RestError(400, 21213, "No 'From' number is specified");
    const refused = magicToRefusal(To);
    if (refused) throw new RestError(400, ...refused);
    if (!Url && !Twiml && !str(b.ApplicationSid)) throw new RestError(400, 21205, "Url parameter is required");
    if (Url && !validUrl(Url)) throw new RestError(400, 21205, `Url is not a valid URL: ${Url}`);
    for (const k of ["StatusCallback", "FallbackUrl", "AsyncAmdStatusCallback"]) {
      const u = str(b[k]);
      if (u && !validUrl(u)) throw new RestError(400, 21609, `Invalid ${k}: ${u}`);
    }
    const call = reg.create({
      To,
      From,
      Url,
      Twiml,
      Method: str(b.Method),
      FallbackUrl: str(b.FallbackUrl),
      FallbackMethod: str(b.FallbackMethod),
      StatusCallback: str(b.StatusCallback),
      StatusCallbackMethod: str(b.StatusCallbackMethod),
      StatusCallbackEvent: list(b.StatusCallbackEvent),
      MachineDetection: str(b.MachineDetection),
      AsyncAmd: str(b.AsyncAmd),
      AsyncAmdStatusCallback: str(b.AsyncAmdStatusCallback),
      AsyncAmdStatusCallbackMethod: str(b.AsyncAmdStatusCallbackMethod),
      MachineDetectionTimeout: str(b.MachineDetectionTimeout),
      Timeout: str(b.Timeout),
      TimeLimit: str(b.TimeLimit),
    });
    res.status(201).json(callJson(call, reg.accountSid));
  });

  app.get(`${root}/Calls.json`, (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const calls = reg
      .all()
      .filter(
        (c) => (!q.To || c.p.to === q.To) && (!q.From || c.p.from === q.From) && (!q.Status || c.status === q.Status),
      );
    const pageSize = Math.min(Number(q.PageSize ?? 50) || 50, 1000);
    const page = calls.slice(0, pageSize).map((c) => callJson(c, reg.accountSid));
    const uri = `/2010-04-01/Accounts/${reg.accountSid}/Calls.json?PageSize=${pageSize}&Page=0`;
    res.json({
      calls: page,
      end: Math.max(page.length - 1, 0),
      first_page_uri: uri,
      next_page_uri: null,
      page: 0,
      page_size: pageSize,
      previous_page_uri: null,
      start: 0,
      uri,
    });
  });

  app.get(`${root}/Calls/:callSid.json`, (req, res) => {
    res.json(callJson(find(req), reg.accountSid));
  });

  app.post(`${root}/Calls/:callSid.json`, async (req, res) => {
    const c = find(req);
    const b = req.body ?? {};
    const status = str(b.Status);
    const Url = str(b.Url);
    const Twiml = str(b.Twiml);
    if (status && status !== "completed" && status !== "canceled")
      throw new RestError(400, 21218, `Invalid value for Status: ${status}`);
    if (Url && Twiml) throw new RestError(400, 21205, "Url and Twiml are mutually exclusive");
    if (Url && !validUrl(Url)) throw new RestError(400, 21205, `Url is not a valid URL: ${Url}`);
    // Any update of a call that ended, or is ending, is 21220 [DOC errors/21220], a hang-up included.
    if (!c.live) throw new RestError(400, 21220, "Call is not in-progress. Cannot redirect.");
    // [INFER] completed on a call that never connected ends it as canceled; canceling an answered call does nothing.
    const end =
      status === "completed"
        ? c.status === "in-progress"
          ? "completed"
          : "canceled"
        : status === "canceled" && c.status !== "in-progress"
          ? "canceled"
          : undefined;
    if (end) {
      if (reg.knobs?.().restHangupAnswer === "after-hangup") await c.end(end, "rest");
      else {
        // The answer shows the call as it was; the hang-up is carried out after it (see `restHangupAnswer`).
        const before = callJson(c, reg.accountSid);
        setImmediate(() => void c.end(end, "rest"));
        return void res.json(before);
      }
    } else if (Url || Twiml !== undefined) {
      c.redirect({ url: Url, method: str(b.Method)?.toUpperCase() === "GET" ? "GET" : "POST", twiml: Twiml });
    }
    res.json(callJson(c, reg.accountSid));
  });

  app.delete(`${root}/Calls/:callSid.json`, (req, res) => {
    find(req);
    res.status(204).end();
  });

  addAccountRoutes(app, reg.accountSid, () => reg.numbers?.() ?? []);
  app.use((_req: Request, _res: Response, next: NextFunction) =>
    next(new RestError(404, 20404, "The requested resource was not found")),
  );
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e =
      err instanceof RestError ? err : new RestError(500, 20500, (err as Error)?.message ?? "Internal Server Error");
    res.status(e.status).json({
      code: e.code,
      message: e.message,
      more_info: `https://www.twilio.com/docs/errors/${e.code}`,
      status: e.status,
    });
  });
  return app;
}
