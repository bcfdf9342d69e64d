// Every command, in the order --help lists them.
import type { Command } from "../command.ts";
import { applyCommand } from "./apply.ts";
import { baselineCommand } from "./baseline.ts";
import { diffCommand } from "./diff.ts";
import { matrixCommand } from "./matrix.ts";
import { checkMigrationCommand } from "./check-migration.ts";
import { exportCommand } from "./export.ts";
import { generateCommand } from "./generate.ts";
import { hostCommand } from "./host.ts";
import { importCommand } from "./import.ts";
import { listCommand } from "./list.ts";
import { schemaCommand } from "./schema.ts";
import { showCommand } from "./show.ts";
import { verifyCommand } from "./verify.ts";

export const commands: Command[] = [
  hostCommand,
  generateCommand,
  applyCommand,
  verifyCommand,
  baselineCommand,
  diffCommand,
  matrixCommand,
  checkMigrationCommand,
  listCommand,
  showCommand,
  importCommand,
  exportCommand,
  schemaCommand,
];
