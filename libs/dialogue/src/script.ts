import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

/** What an intent does after its reply is spoken. */
export const DialogueAction = z.union([
  z.literal("end_call").transform(() => ({ type: "end_call" as const })),
  z.object({ type: z.literal("end_call") }),
  z.object({ type: z.literal("transfer"), to: z.string().min(3) }),
  z.object({ type: z.literal("send_digits"), digits: z.string().regex(/^[0-9*#A-Dw]{1,32}$/) }),
]);
export type DialogueAction = z.infer<typeof DialogueAction>;

export const Intent = z.object({
  /** Unique name; `[a-z0-9_]`, also the JSGF rule name. */
  name: z.string().regex(/^[A-Za-z0-9_]+$/, "intent names are letters, digits and _"),
  /** Phrases the caller may say; matched loosely, and the whole set forms the STT grammar. */
  examples: z.array(z.coerce.string().min(1)).min(1),
  reply: z.string().min(1),
  action: DialogueAction.optional(),
  /** Only matches right after this intent answered (follow-up questions like yes/no). */
  after: z.string().optional(),
  /** A keypad digit that selects this intent. */
  dtmf: z
    .string()
    .regex(/^[0-9*#]$/)
    .optional(),
});
export type Intent = z.infer<typeof Intent>;

/** The built-in agent's dialogue. All texts are spoken as they are. */
export const DialogueScript = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_]+$/)
      .default("dialogue"),
    greeting: z.string().min(1),
    /** Said when nothing matches. */
    fallback: z.string().min(1),
    /** Said after the caller has been silent for a while. */
    reprompt: z.string().min(1),
    /** Said before hanging up after a second silence (and the default end). */
    goodbye: z.string().min(1),
    /** Left on an answering machine. */
    voicemail: z.string().min(1),
    intents: z.array(Intent).min(1),
  })
  .superRefine((s, ctx) => {
    const names = new Set<string>();
    for (const i of s.intents) {
      if (names.has(i.name)) ctx.addIssue({ code: "custom", message: `duplicate intent ${i.name}` });
      names.add(i.name);
    }
    for (const i of s.intents)
      if (i.after && !names.has(i.after))
        ctx.addIssue({ code: "custom", message: `intent ${i.name}: after names unknown intent ${i.after}` });
  });
export type DialogueScript = z.infer<typeof DialogueScript>;

/** Path of the bundled receptionist demo script. */
export const defaultScriptPath: string = fileURLToPath(new URL("../default-script.yaml", import.meta.url));

/** Parse a script from YAML (or JSON, which is YAML) text; throws with the first problem. */
export function parseScript(text: string): DialogueScript {
  const r = DialogueScript.safeParse(parse(text));
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`dialogue script: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
}

/** Load a dialogue script; default: `libs/dialogue/default-script.yaml`. */
export function loadScript(path: string = defaultScriptPath): DialogueScript {
  return parseScript(readFileSync(path, "utf8"));
}
