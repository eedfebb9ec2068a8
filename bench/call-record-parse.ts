// How much one CallRecord.parse of a typical in-progress hash costs (what getCall adds to HGETALL).
// Run: heavy npx tsx bench/call-record-parse.ts
import { CallRecord } from "@voicecall/contracts";
const h: Record<string, string> = {
  callId: "5f0c2d1e-8a3b-4c1d-9e2f-0a1b2c3d4e5f",
  state: "in-progress",
  direction: "outbound",
  mode: "conversation",
  channel: "twilio",
  engine: "pipeline",
  from: "+15550000001",
  to: "+15550000002",
  callSid: "CA0123456789abcdef0123456789abcdef",
  greeting: "Hello, this is the agent.",
  greetingPlayed: "1",
  streamCount: "1",
  mediaOwner: "media-0",
  agentOwner: "agent-1",
  streamSid: "MZ0123456789abcdef",
  generation: "3",
  lastFinalTs: "1796158660124",
  lastFinalText: "what are your opening hours",
  handledFinalTs: "1796158660124",
  createdAt: "1796158650000",
  updatedAt: "1796158660124",
  answeredAt: "1796158651000",
};
for (let i = 0; i < 20000; i++) CallRecord.parse(h);
const n = 100000;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) CallRecord.parse(h);
const us = Number(process.hrtime.bigint() - t0) / 1e3 / n;
console.log(`CallRecord.parse: ${us.toFixed(2)} µs per record (${n} parses)`);
