// Fuzzing the new input parsers: a libvirt <cpu>/domcapabilities document mutated at random, and
// any -cpu value. Each parses, or throws an InputError whose message is one terminal-safe line.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InputError } from "../../src/errors.ts";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { LIBVIRT_CPU_MAP } from "../../src/libvirt/cpu-map.ts";
import { formatLibvirtCpu, profileToLibvirtCpu } from "../../src/libvirt/cpu-xml.ts";
import { profileFromLibvirtXml } from "../../src/libvirt/import.ts";
import { parseQemuCpu } from "../../src/qemu/cpu-string.ts";

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function parsesOrInputError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).not.toMatch(UNSAFE);
  }
}

const seed = formatLibvirtCpu(profileToLibvirtCpu(embeddedProfile("skylake")!, LIBVIRT_CPU_MAP));
const piece = fc.oneof(
  fc.constantFrom(
    "<cpu>",
    "</cpu>",
    "<model>",
    "</model>",
    "<vendor>AMD</vendor>",
    "<feature policy='require' name='avx'/>",
    "<domainCapabilities>",
    "<mode name='host-model'>",
    "</mode>",
    "'",
    "\u001b[2J",
    "\u202e",
  ),
  fc.string({ maxLength: 20 }),
);

describe("fuzz: import libvirt and -cpu values", () => {
  test("mutated <cpu> documents", () => {
    fc.assert(
      fc.property(fc.nat(seed.length), fc.nat(40), piece, (at, cut, insert) => {
        const text = seed.slice(0, at) + insert + seed.slice(Math.min(seed.length, at + cut));
        parsesOrInputError(() => profileFromLibvirtXml(text, "case.xml", LIBVIRT_CPU_MAP));
      }),
      { numRuns: 400 },
    );
  });

  test("any -cpu value", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.array(piece, { maxLength: 5 }).map((a) => a.join(",")),
        ),
        (v) => {
          parsesOrInputError(() => parseQemuCpu(v));
        },
      ),
      { numRuns: 400 },
    );
  });
});
