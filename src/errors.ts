// Every error a user can cause maps to one line on stderr and a documented exit code.

export const EXIT = {
  ok: 0,
  /** A check failed: incompatible profile, guest saw something unexpected, inputs differ. */
  failed: 1,
  /** Bad input: arguments, files, JSON. */
  badInput: 2,
  /** Environment: no /dev/kvm, permission, an ioctl or capability missing. */
  environment: 3,
  /** Output: stdout or an -o file could not be written (disk full, closed device, permission, no such directory). */
  output: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CpuprofError extends Error {
  /** The exit code of this kind of error; each subclass names its own. */
  static readonly exit: ExitCode = EXIT.failed;
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode?: ExitCode) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode ?? (new.target as typeof CpuprofError).exit;
  }
}

/** The user gave us something we cannot use (exit 2). */
export class InputError extends CpuprofError {
  static override readonly exit = EXIT.badInput;
}

/** The machine lacks something we need (exit 3). */
export class EnvironmentError extends CpuprofError {
  static override readonly exit = EXIT.environment;
}

/** An output could not be written (exit 4); any previous file is left as it was. */
export class OutputError extends CpuprofError {
  static override readonly exit = EXIT.output;
}

/** The guest check could not complete: the probe guest stopped unexpectedly (exit 1). */
export class GuestError extends CpuprofError {
  static override readonly exit = EXIT.failed;
}
