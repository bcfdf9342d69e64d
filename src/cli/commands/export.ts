import { join } from "node:path";
import { mkdirSync, statSync } from "node:fs";
import { expectPositionals, parseCommandArgs, stringOpt } from "../args.ts";
import { EXIT_CODES_HELP, type Command } from "../command.ts";
import { emit, emitAll } from "../io.ts";
import { loadProfileArg } from "../inputs.ts";
import { InputError } from "../../errors.ts";
import { exportChv } from "../../formats/chv.ts";
import { exportFirecrackerTemplate } from "../../formats/firecracker-template.ts";
import { printable } from "../../model/document.ts";

const help = `Usage: cpuprof export chv PROFILE DIR
       cpuprof export firecracker PROFILE [-o FILE]

Write a profile in another VMM's format.
  chv          Cloud Hypervisor's two files, DIR/NAME.cpuid.json and DIR/NAME.msr.json
               (upstream format: unpadded lower-case hex, "required_msrs")
  firecracker  a Firecracker custom CPU template (cpuid_modifiers / msr_modifiers bitmaps,
               'x' where the profile leaves a bit to the host)

Options:
  -o FILE     (firecracker) write to FILE instead of stdout
  -h, --help  this help

${EXIT_CODES_HELP}`;

export const exportCommand: Command = {
  name: "export",
  help,
  async run(argv) {
    const p = parseCommandArgs("export", argv, { o: { type: "string", short: "o" } });
    const [kind] = p.positionals;
    if (kind === "chv") {
      const [, profileArg, dir] = expectPositionals("export", p, 3, 3, "chv PROFILE DIR");
      const profile = loadProfileArg(profileArg!);
      try {
        mkdirSync(dir!, { recursive: true });
        if (!statSync(dir!).isDirectory()) throw new Error();
      } catch {
        throw new InputError(`export: cannot use '${printable(dir!, 200)}' as a directory`);
      }
      const files = exportChv(profile);
      const cpuidFile = join(dir!, `${profile.name}.cpuid.json`);
      const msrFile = join(dir!, `${profile.name}.msr.json`);
      // Both files or neither: a new .cpuid.json beside an old .msr.json would be a profile nobody made.
      await emitAll([
        { path: cpuidFile, data: files.cpuid },
        { path: msrFile, data: files.msr },
      ]);
      await emit(`wrote ${printable(cpuidFile, 300)}\nwrote ${printable(msrFile, 300)}\n`, undefined);
      return 0;
    }
    if (kind === "firecracker") {
      const [, profileArg] = expectPositionals("export", p, 2, 2, "firecracker PROFILE");
      const profile = loadProfileArg(profileArg!);
      await emit(exportFirecrackerTemplate(profile), stringOpt(p, "o"));
      return 0;
    }
    throw new InputError(`export: expected 'chv' or 'firecracker' (see 'cpuprof export --help')`);
  },
};
