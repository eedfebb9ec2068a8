import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse } from "yaml";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { GATEWAY_PATHS, MEDIA_PATH, requireBinary } from "@voicecall/testkit";
import { configVariables, SERVICES } from "../../scripts/config-docs";
import { read, root } from "./infra-files";

/**
 * deploy/kubernetes, checked offline: every object against the Kubernetes OpenAPI schemas
 * (kubernetes-models' validators), then what the schemas cannot know — probes on /readyz and
 * /healthz, a grace period that covers media's drain, the ingress routes equal to Caddy's, the
 * Services' selectors matching pods, and config keys the services actually read.
 */
const DIR = "deploy/kubernetes";
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
const MODELS: Record<string, new (o: Obj) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/Ingress": Ingress,
};

/** Validate one object; returns the schema error or an unknown kind, "" when valid. */
function check(o: Obj): string {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return `no schema known for ${o.apiVersion}/${o.kind}`;
  try {
    new Model(o).validate();
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

const kustomization = parse(read(`${DIR}/kustomization.yaml`)) as { resources: string[]; namespace: string };
const objects: (Obj & { file: string })[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(read(`${DIR}/${file}`)).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return { ...(d.toJS() as Obj), file };
  }),
);
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const workload = (name: string) => find("Deployment", name) ?? find("StatefulSet", name);
const container = (name: string) => workload(name)!.spec.template.spec.containers[0] as Obj;
const envOf = (c: Obj) =>
  Object.fromEntries((c.env as Obj[]).filter((e) => "value" in e).map((e) => [e.name, e.value as string]));

describe("deploy/kubernetes", () => {
  it("lists every manifest in the kustomization", () => {
    expect(
      readdirSync(join(root, DIR))
        .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
        .sort(),
    ).toEqual([...kustomization.resources].sort());
  });

  it("every object is valid against the Kubernetes schemas", () => {
    expect(objects.length).toBeGreaterThan(15);
    expect(objects.map((o) => [o.file, o.kind, o.metadata?.name, check(o)]).filter((r) => r[3])).toEqual([]);
  });

  it("the validator does reject a broken object (so the check above can fail)", () => {
    const d = structuredClone(workload("media")!);
    d.spec.template.spec.containers[0].ports[0].containerPort = "eight thousand";
    expect(check(d)).toMatch(/containerPort must be integer/);
    expect(check({ ...find("Service", "media")!, spec: { ports: "80" } })).toMatch(/ports must be array/);
  });

  it("each service runs the image with SERVICE set, its PORT, and readiness/liveness from /readyz and /healthz", () => {
    for (const name of SERVICES) {
      const c = container(name);
      expect(c.image, name).toMatch(/^voicecall:/);
      expect(envOf(c).SERVICE, name).toBe(name);
      expect(c.ports[0].containerPort, name).toBe(Number(envOf(c).PORT));
      expect(c.readinessProbe.httpGet.path, name).toBe("/readyz");
      expect(c.livenessProbe.httpGet.path, name).toBe("/healthz");
      expect(
        c.envFrom.map((e: Obj) => e.configMapRef?.name ?? e.secretRef?.name),
        name,
      ).toEqual(["voicecall-config", "voicecall-secrets"]);
      const w = workload(name)!;
      expect(find("Service", name)!.spec.selector, name).toEqual(w.spec.selector.matchLabels);
      expect(w.spec.template.metadata.labels, name).toMatchObject(w.spec.selector.matchLabels);
    }
  });

  it("SIGTERM drains within the grace period: preStop + media's drain + shutdown fit, for every service", () => {
    for (const name of SERVICES) {
      const pod = workload(name)!.spec.template.spec;
      const c = container(name);
      const env = envOf(c);
      const preStopS = c.lifecycle?.preStop?.exec ? Number(c.lifecycle.preStop.exec.command.at(-1)) : 0;
      const drainS = name === "media" ? Number(env.DRAIN_TIMEOUT_MS) / 1000 : 0;
      const shutdownS = Number(env.SHUTDOWN_TIMEOUT_MS ?? 10_000) / 1000;
      expect(
        preStopS + drainS + shutdownS,
        `${name}: preStop ${preStopS} + drain ${drainS} + shutdown ${shutdownS} s`,
      ).toBeLessThan(pod.terminationGracePeriodSeconds);
    }
    // Media and gateway sit behind the ingress: they wait for it to drop them before draining.
    expect(container("media").lifecycle.preStop.exec.command[0]).toBe("sleep");
    expect(container("gateway").lifecycle.preStop.exec.command[0]).toBe("sleep");
    expect(find("PodDisruptionBudget", "media")!.spec.maxUnavailable).toBe(1);
  });

  it("the ingress routes what Caddy routes: the gateway paths to gateway, the stream path to media (any replica)", () => {
    const ing = find("Ingress", "voicecall")!;
    const paths = (ing.spec.rules[0].http.paths as Obj[]).map((p) => [p.path, p.backend.service.name]);
    const want = [
      ...GATEWAY_PATHS.map((p) => [p.replace(/\*$/, "").replace(/\/$/, ""), "gateway"]),
      [MEDIA_PATH.replace(/\*$/, ""), "media"],
    ];
    expect(paths.sort()).toEqual(want.sort());
    expect(find("Service", "media")!.spec.sessionAffinity).toBe("None");
    expect(Number(ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThanOrEqual(
      1800,
    );
  });

  it("the embedded nats.conf passes nats-server's own check, the Redis scripts parse as sh", () => {
    requireBinary("nats-server");
    const dir = mkdtempSync(join(tmpdir(), "vc-k8s-"));
    try {
      const conf = join(dir, "nats.conf");
      writeFileSync(conf, find("ConfigMap", "nats-config")!.data["nats.conf"]);
      const r = spawnSync("nats-server", ["-t", "-c", conf], {
        encoding: "utf8",
        env: { ...process.env, POD_NAME: "nats-0" },
      });
      expect(r.stderr + r.stdout, "nats-server -t").not.toMatch(/error|invalid/i);
      expect(r.status).toBe(0);
      for (const [file, text] of Object.entries(find("ConfigMap", "redis-scripts")!.data as Record<string, string>)) {
        const sh = spawnSync("sh", ["-n"], { input: text, encoding: "utf8" });
        expect(sh.status, `${file}: ${sh.stderr}`).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the config map holds only variables the services read, with a NATS list of the cluster and the sentinels", async () => {
    const { vars } = await configVariables();
    const known = new Set(vars.map((v) => v.name));
    const data = find("ConfigMap", "voicecall-config")!.data as Record<string, string>;
    expect(Object.keys(data).filter((k) => !known.has(k))).toEqual([]);
    const nats = find("StatefulSet", "nats")!;
    expect(data.NATS_URL!.split(",")).toHaveLength(nats.spec.replicas);
    expect(data.REDIS_SENTINELS!.split(",")).toHaveLength(find("StatefulSet", "redis-sentinel")!.spec.replicas);
    expect(find("StatefulSet", "redis")!.spec.replicas).toBe(2);
    expect(kustomization.namespace).toBe(find("Namespace", "voicecall")!.metadata.name);
  });
});
