import express, { type Router } from "express";
import { requireBearer } from "./bearer";
import type { GatewayContext } from "./context";

/** `GET /api/diagnostics`: the settings `voicecall doctor` reports, no secrets. */
export function diagnosticsRouter(ctx: GatewayContext): Router {
  const r = express.Router();
  r.get("/", requireBearer(ctx.config.API_TOKEN), (_req, res) => {
    res.json({
      publicUrl: ctx.config.PUBLIC_URL,
      streamUrl: ctx.urls.streamUrl,
      signatureChecking: !ctx.config.TWILIO_SKIP_SIGNATURE,
      inboundPolicy: ctx.config.INBOUND_POLICY,
      allowFrom: ctx.config.INBOUND_ALLOW_FROM.length,
      maxConcurrentCalls: ctx.config.MAX_CONCURRENT_CALLS,
      twilioApi: ctx.config.TWILIO_API_BASE_URL ? "simulator" : "twilio",
    });
  });
  return r;
}
