/**
 * The real `twilio` client talks to the simulator through its supported `httpClient` hook:
 * `twilio(sid, token, { httpClient: simulatorHttpClient("http://127.0.0.1:4010") })`.
 */
export { originHttpClient as simulatorHttpClient } from "@voicecall/twilio-client";
