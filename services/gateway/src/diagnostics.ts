import express, { type Router } from "express";
import { safeEqual } from "@voicecall/auth";
import type { GatewayContext } from "./context";

/** `GET /api/diagnostics`: the settings `voicecall doctor` reports, no secrets. */
export function diagnosticsRouter(ctx: GatewayContext): Router {
  const r = express.Router();
  r.get("/", (req, res) => {
    const m = /^Bearer (.+)$/.exec(req.get("authorization") ?? "");
    if (!m || !safeEqual(m[1]!, ctx.config.API_TOKEN)) return void res.status(401).json({ error: "unauthorized" });
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
