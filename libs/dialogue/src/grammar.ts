import { normalize, spellDigits as spell } from "./match";
import type { DialogueScript } from "./script";

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
  lines.splice(4, 0, `public <utterance> = ${rules.join(" | ")};`, "");
  return lines.join("\n") + "\n";
}
