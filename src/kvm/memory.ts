// Guest RAM: an anonymous shared mapping the host reads and writes through a Uint8Array view.
import { KvmError } from "./error.ts";
import { MAP_ANONYMOUS, MAP_SHARED, PROT_READ, PROT_WRITE, sysMmap, sysMunmap } from "./libc.ts";

export const PAGE_SIZE = 4096;

export class GuestMemory implements Disposable {
  #address: bigint;
  #bytes: Uint8Array | null;
  #view: DataView | null;

  private constructor(
    address: bigint,
    bytes: ArrayBuffer,
    readonly size: number,
  ) {
    this.#address = address;
    this.#bytes = new Uint8Array(bytes);
    this.#view = new DataView(bytes);
  }

  /** Maps `size` bytes (a positive multiple of the page size), zero-filled. */
  static allocate(size: number): GuestMemory {
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new RangeError(`guest memory size ${size} is not a positive multiple of ${PAGE_SIZE}`);
    }
    const m = sysMmap(size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    if (!m.mapping) throw new KvmError("mmap", m.errno, `${size} bytes of guest memory`);
    return new GuestMemory(m.mapping.address, m.mapping.bytes, size);
  }

  get disposed(): boolean {
    return this.#bytes === null;
  }

  /** Host address of the mapping, for KVM_SET_USER_MEMORY_REGION. */
  get address(): bigint {
    this.bytes;
    return this.#address;
  }

  get bytes(): Uint8Array {
    if (!this.#bytes) throw new Error("guest memory used after dispose");
    return this.#bytes;
  }

  get view(): DataView {
    if (!this.#view) throw new Error("guest memory used after dispose");
    return this.#view;
  }

  dispose(): void {
    if (!this.#bytes) return;
    // Drop the views first: after munmap they would point at unmapped memory.
    this.#bytes = null;
    this.#view = null;
    sysMunmap(this.#address, this.size);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
