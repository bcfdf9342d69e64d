// Placeholder until the wizard lands: explain instead of failing.
import { writeStderr } from "./io.ts";
export async function runWizard(): Promise<number> {
  writeStderr("cpuprof: the interactive wizard is not available in this build; see 'cpuprof --help'");
  return 2;
}
