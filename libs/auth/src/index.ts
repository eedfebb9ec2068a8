export { twilioSignature, validTwilioSignature, safeEqual } from "./twilio-signature";
export { mintStreamToken, verifyStreamToken, type TokenCheck } from "./stream-token";
