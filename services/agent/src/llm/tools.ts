import { callTools } from "@voicecall/contracts";
import type { ToolSpec } from "./types";

/** The tools the model is offered: one list for every engine (libs/contracts). */
export const agentTools: ToolSpec[] = [...callTools];
