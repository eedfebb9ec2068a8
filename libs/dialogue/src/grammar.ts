import { normalize, spellDigits as spell } from "./match";
import type { DialogueScript } from "./script";
import { ACKNOWLEDGEMENT_PHRASES, BACKCHANNEL_PHRASES, INTERRUPTION_PHRASES } from "./backchannel";

/**
 * JSGF grammar (text) accepting exactly the script's example phrases, normalised the way
 * `matchIntent` reads them (lowercase words). One rule per intent, public rule `<utterance>`.
 */
export function jsgfGrammar(script: DialogueScript): string {
  const lines = ["#JSGF V1.0;", "", `grammar ${script.name};`, ""];
  const rules: string[] = [];
  for (const intent of script.intents) {
    const phrases = [...new Set(intent.examples.map((e) => spell(normalize(e))).filter(Boolean))];
    if (phrases.length === 0) continue;
    rules.push(`<${intent.name}>`);
    lines.push(`<${intent.name}> = ${phrases.map((p) => `( ${p} )`).join(" | ")};`);
  }
  // A sink for noises and backchannels: without it the decoder must map a cough or an "uh huh" to the
  // nearest script phrase (a "no" can end the call). Media and the agent treat these words as no turn.
  lines.push(`<backchannel> = ${BACKCHANNEL_PHRASES.map((p) => `( ${p} )`).join(" | ")};`);
  rules.push("<backchannel>");
  lines.push(`<acknowledgement> = ${ACKNOWLEDGEMENT_PHRASES.map((p) => `( ${p} )`).join(" | ")};`);
  rules.push("<acknowledgement>");
  lines.push(`<interruption> = ${INTERRUPTION_PHRASES.map((p) => `( ${p} )`).join(" | ")};`);
  rules.push("<interruption>");
  lines.splice(4, 0, `public <utterance> = ${rules.join(" | ")};`, "");
  return lines.join("\n") + "\n";
}
