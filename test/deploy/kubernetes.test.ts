// Every manifest in deploy/kubernetes parses (Bun's YAML parser) and has what a cluster needs:
// the DaemonSet runs `cpuprof labels` into NFD's features.d with /dev/kvm from the host; the
// VirtualMachine selects nodes by a cpuprof label of an embedded profile and carries a CPU
// block of libvirt names, as `export kubevirt` prints it.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { LIBVIRT_CPU_MAP } from "../../src/libvirt/cpu-map.ts";

const DIR = resolve(import.meta.dir, "../../deploy/kubernetes");
const FEATURES_D = "/etc/kubernetes/node-feature-discovery/features.d";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML manifests are walked by path in the tests
type Obj = Record<string, any>;
const manifests = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((f) => ({ file: f, doc: Bun.YAML.parse(readFileSync(join(DIR, f), "utf8")) as Obj }));

describe("deploy/kubernetes", () => {
  test("there is a DaemonSet and a VirtualMachine, each with apiVersion, kind and a name", () => {
    for (const m of manifests) {
      expect(typeof m.doc.apiVersion).toBe("string");
      expect(typeof m.doc.metadata?.name).toBe("string");
    }
    expect(manifests.map((m) => m.doc.kind).sort()).toEqual(["DaemonSet", "VirtualMachine"]);
  });

  test("DaemonSet: selector matches the pod, runs cpuprof labels -o into features.d, /dev/kvm from the host", () => {
    const ds = manifests.find((m) => m.doc.kind === "DaemonSet")!.doc;
    expect(ds.apiVersion).toBe("apps/v1");
    const podLabels = ds.spec.template.metadata.labels as Obj;
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels as Obj)) expect(podLabels[k]).toBe(v);
    const c = ds.spec.template.spec.containers[0] as Obj;
    const command = (c.command as string[]).join(" ");
    expect(command).toMatch(new RegExp(`cpuprof labels -o ${FEATURES_D}/\\S+`));
    const volumes = new Map((ds.spec.template.spec.volumes as Obj[]).map((v) => [v.name, v]));
    const mounts = new Map((c.volumeMounts as Obj[]).map((m) => [m.mountPath, m.name]));
    expect(volumes.get(mounts.get("/dev/kvm"))?.hostPath).toEqual({ path: "/dev/kvm", type: "CharDevice" });
    expect(volumes.get(mounts.get(FEATURES_D))?.hostPath?.path).toBe(FEATURES_D);
  });

  test("VirtualMachine: nodeSelector on an embedded profile's label, a CPU block of libvirt names", () => {
    const vm = manifests.find((m) => m.doc.kind === "VirtualMachine")!.doc;
    expect(vm.apiVersion).toBe("kubevirt.io/v1");
    const selector = Object.entries(vm.spec.template.spec.nodeSelector as Obj);
    const profileLabel = selector.find(([k]) => k.startsWith("cpuprof.io/profile."));
    expect(profileLabel?.[1]).toBe("true");
    expect(embeddedProfile(profileLabel![0].slice("cpuprof.io/profile.".length))).toBeDefined();
    const cpu = vm.spec.template.spec.domain.cpu as { model: string; features: { name: string; policy: string }[] };
    expect(LIBVIRT_CPU_MAP.models.map((m) => m.name)).toContain(cpu.model);
    const names = new Set(LIBVIRT_CPU_MAP.features.map((f) => f.name));
    for (const f of cpu.features) {
      expect(names.has(f.name)).toBe(true);
      expect(["require", "disable"]).toContain(f.policy);
    }
  });
});
