import type express from "express";
import { rfc2822 } from "./sids";

/** A number the simulated account owns, as the console would show it. */
export interface OwnedNumber {
  phoneNumber: string;
  voiceUrl: string;
  voiceMethod: string;
  /**
   * The console's "call status changes" URL; "" when unset: Twilio then sends no status callbacks for the
   * number's inbound calls [DOC voice-webhooks, IncomingPhoneNumber `status_callback`; twilio-wire.md, addendum "what a real deployment adds"].
   */
  statusCallback: string;
  statusCallbackMethod: string;
}

/**
 * `GET /2010-04-01/Accounts/{Sid}.json` and `GET …/IncomingPhoneNumbers.json?PhoneNumber=`: what
 * `voicecall doctor` reads to check credentials and where the number's voice URL and status callback point.
 */
export function addAccountRoutes(
  app: express.Express,
  accountSid: string,
  numbers: () => OwnedNumber[],
  created = new Date(),
): void {
  app.get("/2010-04-01/Accounts/:accountSid.json", (req, res, next) => {
    if (req.params.accountSid !== accountSid) return next();
    res.json({
      sid: accountSid,
      friendly_name: "voicecall simulator",
      status: "active",
      type: "Full",
      date_created: rfc2822(created),
      date_updated: rfc2822(created),
      uri: `/2010-04-01/Accounts/${accountSid}.json`,
    });
  });
  app.get("/2010-04-01/Accounts/:accountSid/IncomingPhoneNumbers.json", (req, res, next) => {
    if (req.params.accountSid !== accountSid) return next();
    const want = typeof req.query.PhoneNumber === "string" ? req.query.PhoneNumber : undefined;
    const rows = numbers()
      .filter((n) => !want || n.phoneNumber === want)
      .map((n, i) => ({
        sid: `PN${String(i).padStart(32, "0")}`,
        account_sid: accountSid,
        phone_number: n.phoneNumber,
        friendly_name: n.phoneNumber,
        voice_url: n.voiceUrl,
        voice_method: n.voiceMethod,
        status_callback: n.statusCallback,
        status_callback_method: n.statusCallbackMethod,
        date_created: rfc2822(created),
        date_updated: rfc2822(created),
      }));
    const uri = `/2010-04-01/Accounts/${accountSid}/IncomingPhoneNumbers.json?PageSize=50&Page=0`;
    res.json({
      incoming_phone_numbers: rows,
      end: Math.max(rows.length - 1, 0),
      first_page_uri: uri,
      next_page_uri: null,
      page: 0,
      page_size: 50,
      previous_page_uri: null,
      start: 0,
      uri,
    });
  });
}
