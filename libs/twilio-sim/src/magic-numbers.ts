/**
 * Twilio's magic `To` numbers for test credentials: creating a call to one is refused with its error
 * [DOC iam/test-credentials#test-calls]. Other numbers are dialled as usual.
 */
const refusedTo: Record<string, [code: number, message: string]> = {
  "+15005550001": [21217, "Phone number does not appear to be valid"],
  "+15005550002": [21214, "'To' phone number cannot be reached"],
  "+15005550003": [21215, "Account not authorized to call this number"],
  "+15005550004": [21216, "Call blocked by Twilio blocklist"],
};

/** Twilio's error for a call created to `to`, when `to` is one of its refused magic numbers. */
export const magicToRefusal = (to: string): [code: number, message: string] | undefined => refusedTo[to];
