// Container HEALTHCHECK: exit 0 when the service answers /healthz. Plain JS so it starts fast (no tsx).
const defaults = { gateway: 3000, media: 8080, tts: 8081, agent: 8082 };
const port = process.env.PORT || defaults[process.env.SERVICE ?? ""] || 3000;
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2500) }).then(
  (r) => process.exit(r.ok ? 0 : 1),
  () => process.exit(1),
);
