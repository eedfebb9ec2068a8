export { DialogueScript, DialogueAction, Intent, loadScript, parseScript, defaultScriptPath } from "./script";
export { matchIntent, intentByReply, normalize, spellDigits, type IntentMatch, type MatchState } from "./match";
export { jsgfGrammar } from "./grammar";
export { BACKCHANNEL_PHRASES, isBackchannel } from "./backchannel";
