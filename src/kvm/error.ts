// A failed ioctl (or libc call) on /dev/kvm: an environment problem (exit 3) that names the call and errno.
import { EnvironmentError } from "../errors.ts";
import { describeErrno } from "./errno.ts";

export class KvmError extends EnvironmentError {
  constructor(
    readonly ioctl: string,
    readonly errno: number,
    detail?: string,
  ) {
    super(`${ioctl} failed: ${describeErrno(errno)}${detail ? `: ${detail}` : ""}`);
  }
}
