// Ask an installed QEMU what a -cpu value means: one `qemu-system-x86_64 -machine none -accel tcg`
// over QMP, `query-cpu-model-expansion` type full. TCG needs no /dev/kvm and expands any model.
import { EnvironmentError, InputError } from "../errors.ts";
import { printable } from "../model/document.ts";
import { parseQemuCpu } from "./cpu-string.ts";
import { Qmp, QmpError } from "./qmp.ts";

export interface Expansion {
  props: Record<string, unknown>;
  /** Properties the -cpu value set explicitly. */
  explicit: Set<string>;
  /** major.minor of the QEMU that answered. */
  qemuVersion: string;
}

export async function expandQemuCpu(binary: string, cpu: string): Promise<Expansion> {
  const { model, props } = parseQemuCpu(cpu);
  let qmp: Qmp;
  try {
    qmp = await Qmp.start(binary, "tcg");
  } catch (e) {
    throw new EnvironmentError(`cannot run QEMU '${printable(binary, 120)}': ${printable((e as Error).message, 200)}`);
  }
  try {
    const v = (await qmp.execute("query-version")) as { qemu: { major: number; minor: number } };
    const models = await qmp.cpuModels();
    if (!models.has(model))
      throw new InputError(`QEMU ${v.qemu.major}.${v.qemu.minor} has no CPU model '${printable(model, 80)}'`);
    try {
      return {
        props: await qmp.expandModel(model, 10_000, props),
        explicit: new Set(Object.keys(props)),
        qemuVersion: `${v.qemu.major}.${v.qemu.minor}`,
      };
    } catch (e) {
      if (e instanceof QmpError) {
        const desc = /"desc":"((?:[^"\\]|\\.)*)"/.exec(e.message)?.[1] ?? e.message;
        throw new InputError(`QEMU rejects -cpu '${printable(cpu, 120)}': ${printable(desc, 200)}`);
      }
      throw e;
    }
  } finally {
    qmp.close();
  }
}
