// A fleet's captures, deduplicated by content before any work: identical documents are hashed once
// and only counted again; different spellings of the same capture (pretty or one-line JSON, key
// order) meet once parsed, by their canonical serialization. Memory grows with the unique captures,
// not with the fleet.
import type { HostCapture } from "../model/host.ts";
import { serializeHost } from "../model/host.ts";

export interface UniqueCapture {
  /** The first label (file name, stdin:N) this capture was seen under. */
  label: string;
  host: HostCapture;
  /** How many inputs had this content. */
  count: number;
}

export class CaptureSet {
  /** Hash of the bytes -> the distinct byte strings with that hash (compared in full: no collision merges two hosts). */
  readonly #byBytes = new Map<number | bigint, { bytes: Buffer; capture: UniqueCapture }[]>();
  readonly #byContent = new Map<string, UniqueCapture>();
  readonly #unique: UniqueCapture[] = [];
  #total = 0;

  /** Adds one document; `parse` runs only for bytes not seen before. */
  add(label: string, bytes: Uint8Array, parse: (text: string, label: string) => HostCapture): void {
    this.#total++;
    const key = Bun.hash(bytes);
    const same = this.#byBytes.get(key);
    if (same) {
      const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const hit = same.find((x) => x.bytes.equals(view));
      if (hit) {
        hit.capture.count++;
        return;
      }
    }
    const host = parse(new TextDecoder().decode(bytes), label);
    const canonical = serializeHost(host);
    let u = this.#byContent.get(canonical);
    if (u) u.count++;
    else {
      u = { label, host, count: 1 };
      this.#byContent.set(canonical, u);
      this.#unique.push(u);
    }
    const entry = { bytes: Buffer.from(bytes), capture: u };
    if (same) same.push(entry);
    else this.#byBytes.set(key, [entry]);
  }

  /** Every input seen, duplicates included. */
  get total(): number {
    return this.#total;
  }

  /** The distinct captures, in the order first seen. */
  get unique(): readonly UniqueCapture[] {
    return this.#unique;
  }
}
