// The probe's 64-bit guest code, assembled here byte by byte (there is no assembler at runtime).
// Two table-driven loops, CPUID then RDMSR, store their results to guest memory; then `out DONE_PORT; hlt`.
import { DONE_PORT, GUEST, MSR_QUERY_SIZE, CPUID_QUERY_SIZE, RESULT_SIZE, TABLE_HEADER } from "./layout.ts";

/** A tiny emitter: bytes plus rel8 jumps resolved against labels. */
class Emitter {
  readonly bytes: number[] = [];
  readonly labels = new Map<string, number>();
  readonly fixups: { at: number; label: string }[] = [];

  emit(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  imm32(v: number): this {
    return this.emit(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  label(name: string): this {
    this.labels.set(name, this.bytes.length);
    return this;
  }
  /** A short jump (opcode then rel8) to a label. */
  jump8(opcode: number, label: string): this {
    this.emit(opcode, 0);
    this.fixups.push({ at: this.bytes.length - 1, label });
    return this;
  }
  /** Returns the assembled bytes and the offsets of its labels. */
  finish(): { bytes: Uint8Array; labels: Map<string, number> } {
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new Error(`guest code: no label ${f.label}`);
      const rel = target - (f.at + 1);
      if (rel < -128 || rel > 127) throw new Error(`guest code: jump to ${f.label} out of rel8 range`);
      this.bytes[f.at] = rel & 0xff;
    }
    return { bytes: Uint8Array.from(this.bytes), labels: this.labels };
  }
}

const JZ = 0x74;
const JMP = 0xeb;

export interface ProbeCode {
  /** Loaded at GUEST.code. */
  main: Uint8Array;
  /** #GP handler, loaded right after main; offset from GUEST.code. */
  gpHandlerOffset: number;
  /** Offset of the RDMSR instruction, for diagnosing a stop there. */
  rdmsrOffset: number;
}

export function assembleProbe(): ProbeCode {
  const e = new Emitter();
  // CPUID loop: rsi = query, rdi = result, r8d = remaining.
  e.emit(0xbe).imm32(GUEST.cpuidTable); //          mov esi, cpuidTable
  e.emit(0x44, 0x8b, 0x06); //                       mov r8d, [rsi]
  e.emit(0x48, 0x83, 0xc6, TABLE_HEADER); //         add rsi, 8
  e.emit(0xbf).imm32(GUEST.cpuidResults); //        mov edi, cpuidResults
  e.label("cpuid");
  e.emit(0x45, 0x85, 0xc0); //                       test r8d, r8d
  e.jump8(JZ, "cpuidDone");
  e.emit(0x8b, 0x06); //                             mov eax, [rsi]
  e.emit(0x8b, 0x4e, 0x04); //                       mov ecx, [rsi+4]
  e.emit(0x0f, 0xa2); //                             cpuid
  e.emit(0x89, 0x07); //                             mov [rdi], eax
  e.emit(0x89, 0x5f, 0x04); //                       mov [rdi+4], ebx
  e.emit(0x89, 0x4f, 0x08); //                       mov [rdi+8], ecx
  e.emit(0x89, 0x57, 0x0c); //                       mov [rdi+12], edx
  e.emit(0x48, 0x83, 0xc6, CPUID_QUERY_SIZE); //     add rsi, 8
  e.emit(0x48, 0x83, 0xc7, RESULT_SIZE); //          add rdi, 16
  e.emit(0x41, 0xff, 0xc8); //                       dec r8d
  e.jump8(JMP, "cpuid");
  e.label("cpuidDone");
  // RDMSR loop: r9d is the fault flag the #GP handler sets.
  e.emit(0xbe).imm32(GUEST.msrTable); //            mov esi, msrTable
  e.emit(0x44, 0x8b, 0x06); //                       mov r8d, [rsi]
  e.emit(0x48, 0x83, 0xc6, TABLE_HEADER); //         add rsi, 8
  e.emit(0xbf).imm32(GUEST.msrResults); //          mov edi, msrResults
  e.label("msr");
  e.emit(0x45, 0x85, 0xc0); //                       test r8d, r8d
  e.jump8(JZ, "msrDone");
  e.emit(0x8b, 0x0e); //                             mov ecx, [rsi]
  e.emit(0x45, 0x31, 0xc9); //                       xor r9d, r9d
  e.emit(0x31, 0xc0); //                             xor eax, eax
  e.emit(0x31, 0xd2); //                             xor edx, edx
  e.label("rdmsr");
  e.emit(0x0f, 0x32); //                             rdmsr (2 bytes: the handler skips exactly this)
  e.emit(0x89, 0x07); //                             mov [rdi], eax
  e.emit(0x89, 0x57, 0x04); //                       mov [rdi+4], edx
  e.emit(0x44, 0x89, 0x4f, 0x08); //                 mov [rdi+8], r9d
  e.emit(0x48, 0x83, 0xc6, MSR_QUERY_SIZE); //       add rsi, 4
  e.emit(0x48, 0x83, 0xc7, RESULT_SIZE); //          add rdi, 16
  e.emit(0x41, 0xff, 0xc8); //                       dec r8d
  e.jump8(JMP, "msr");
  e.label("msrDone");
  e.emit(0x66, 0xba, DONE_PORT & 0xff, DONE_PORT >>> 8); // mov dx, DONE_PORT
  e.emit(0xee); //                                   out dx, al
  e.label("halt");
  e.emit(0xf4); //                                   hlt
  e.jump8(JMP, "halt");
  // #GP handler: drop the error code, step over the 2-byte RDMSR, flag the fault.
  e.label("gp");
  e.emit(0x48, 0x83, 0xc4, 0x08); //                 add rsp, 8
  e.emit(0x48, 0x83, 0x04, 0x24, 0x02); //           add qword [rsp], 2
  e.emit(0x41, 0xb9).imm32(1); //                    mov r9d, 1
  e.emit(0x48, 0xcf); //                             iretq
  const { bytes, labels } = e.finish();
  return { main: bytes, gpHandlerOffset: labels.get("gp")!, rdmsrOffset: labels.get("rdmsr")! };
}
