import twilio from "twilio";
import { simulatorHttpClient } from "@voicecall/twilio-sim";

/**
 * The twilio library client; with `apiBase` (a simulator's origin) requests go there through the
 * library's supported `httpClient` hook instead of https://api.twilio.com.
 */
export function twilioClient(accountSid: string, authToken: string, apiBase?: string): twilio.Twilio {
  return apiBase ? twilio(accountSid, authToken, { httpClient: simulatorHttpClient(apiBase) }) : twilio(accountSid, authToken);
}
