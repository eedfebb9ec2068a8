export {
  startSimulator,
  type Simulator,
  type SimulatorOptions,
  type IncomingCall,
  type NumberConfig,
} from "./simulator";
export { Phone } from "./phone";
export { simulatorHttpClient } from "./http-client";
export { createRestApp, callJson, RestError, type CallRegistry, type CreateCallRequest } from "./rest-server";
export { recordRestRequests, type RestRequest } from "./rest-log";
export { sendWebhook, signingUrl, type WebhookRecord, type WebhookKind, type WebhookOptions } from "./webhooks";
export { parseTwiml, TwimlError, type Verb, type StreamSpec, type ParsedTwiml, type DialTarget } from "./twiml";
export { interpret, type TwimlHost, type Outcome, type StreamEnd } from "./interpreter";
export { parseXml, XmlError, type XmlElement } from "./xml";
export { MediaStream, type MediaStreamOptions, type OpenResult, type CloseInfo } from "./media-stream";
export { DelayLine, roundTrip, type NetworkConditions, type LinkConditions } from "./network";
export { Player } from "./player";
export { HeardRecorder, type Heard, type HeardSegment, type MarkRecord, type ClearRecord } from "./heard-recorder";
export { synthesize, wavToMulaw, type SpeechEngine } from "./speech";
export type { StreamRecord } from "./stream-runner";
export {
  defaultKnobs,
  type SimKnobs,
  type DialOutcome,
  type AnsweredBy,
  type CallStatus,
  type CallEventRecord,
} from "./types";
export { newSid, rfc2822 } from "./sids";
export { StreamFrames, CONNECTED, type StreamIds, type MediaPosition } from "./stream-frames";
