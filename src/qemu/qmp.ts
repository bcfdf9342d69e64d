// A minimal QMP client over a qemu-system-x86_64 child's stdio, for tests that ask QEMU
// about its CPU models. Bounded: every command has a timeout, and close() always kills.
import type { Subprocess } from "bun";

export const QEMU_BINARY = "qemu-system-x86_64";

/** Where qemu-system-x86_64 is on PATH, or null. */
export function findQemu(): string | null {
  return Bun.which(QEMU_BINARY);
}

export class QmpError extends Error {}

export class Qmp {
  private buffer = "";
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;
  private stderr = "";

  private constructor(private readonly proc: Subprocess<"pipe", "pipe", "pipe">) {
    void this.pump();
    void (async () => {
      for await (const chunk of proc.stderr) this.stderr += new TextDecoder().decode(chunk);
    })().catch(() => {});
  }

  /** Start `qemu-system-x86_64 -machine none -qmp stdio` and negotiate capabilities. */
  static async start(binary: string, accel: "kvm" | "tcg", timeoutMs = 5000): Promise<Qmp> {
    const proc = Bun.spawn(
      [binary, "-machine", "none", "-accel", accel, "-nodefaults", "-display", "none", "-qmp", "stdio"],
      {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const qmp = new Qmp(proc);
    try {
      const greeting = await qmp.next(timeoutMs);
      if (!("QMP" in greeting)) throw new QmpError(`no QMP greeting: ${JSON.stringify(greeting).slice(0, 200)}`);
      await qmp.execute("qmp_capabilities", undefined, timeoutMs);
      return qmp;
    } catch (e) {
      qmp.close();
      throw e;
    }
  }

  private async pump(): Promise<void> {
    try {
      for await (const chunk of this.proc.stdout) {
        this.buffer += new TextDecoder().decode(chunk);
        let nl: number;
        while ((nl = this.buffer.indexOf("\n")) >= 0) {
          const l = this.buffer.slice(0, nl).trim();
          this.buffer = this.buffer.slice(nl + 1);
          if (l) this.lines.push(l);
        }
        this.waiter?.();
      }
    } catch {
      // the process was killed
    }
    this.ended = true;
    this.waiter?.();
  }

  /** The next message that is not an asynchronous event. */
  private async next(timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.lines.length) {
        const msg = JSON.parse(this.lines.shift()!) as Record<string, unknown>;
        if (!("event" in msg)) return msg;
      }
      if (this.ended) throw new QmpError(`QEMU exited: ${this.stderr.trim().split("\n")[0] ?? ""}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new QmpError(`QMP: no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  async execute(command: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
    this.proc.stdin.write(
      `${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`,
    );
    this.proc.stdin.flush();
    const reply = await this.next(timeoutMs);
    if ("error" in reply) throw new QmpError(`${command}: ${JSON.stringify(reply.error)}`);
    return reply.return;
  }

  /** Names of the CPU models this QEMU defines. */
  async cpuModels(): Promise<Set<string>> {
    const defs = (await this.execute("query-cpu-definitions")) as { name: string }[];
    return new Set(defs.map((d) => d.name));
  }

  /** `query-cpu-model-expansion` type full: every property of the model with its value. */
  async expandModel(name: string, timeoutMs = 5000, props?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const model = props === undefined ? { name } : { name, props };
    const r = (await this.execute("query-cpu-model-expansion", { type: "full", model }, timeoutMs)) as {
      model: { props: Record<string, unknown> };
    };
    return r.model.props;
  }

  close(): void {
    try {
      this.proc.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  get exited(): Promise<number> {
    return this.proc.exited;
  }
}
