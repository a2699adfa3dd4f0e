/**
 * A Jupyter kernel's signing key (from its connection file). The key lives in an
 * ES private field: it is not enumerable, not in JSON.stringify, not in
 * util.inspect, and no method returns it. Only sign/verify use it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const SCHEMES: Record<string, string> = { 'hmac-sha256': 'sha256', 'hmac-sha1': 'sha1', 'hmac-sha512': 'sha512', 'hmac-md5': 'md5' };

export class JupyterKey {
  readonly #key: Buffer;
  readonly #algorithm: string;

  /** `scheme` as in the connection file's `signature_scheme` (default hmac-sha256). */
  constructor(key: string | Uint8Array, readonly scheme = 'hmac-sha256') {
    const algorithm = SCHEMES[scheme];
    if (!algorithm) throw new Error(`unknown Jupyter signature_scheme '${scheme}' (known: ${Object.keys(SCHEMES).join(', ')})`);
    this.#algorithm = algorithm;
    this.#key = Buffer.from(typeof key === 'string' ? Buffer.from(key, 'utf8') : key);
  }

  /** An empty key means the kernel does not sign (signature frames are empty). */
  get empty(): boolean {
    return this.#key.length === 0;
  }

  /** The hex HMAC of header, parent_header, metadata and content, as Jupyter computes it. */
  sign(parts: readonly Uint8Array[]): string {
    const h = createHmac(this.#algorithm, this.#key);
    for (const p of parts) h.update(p);
    return h.digest('hex');
  }

  /** Whether `signature` (the hex frame as sent) is the HMAC of `parts`, compared in constant time. */
  verify(signature: Uint8Array, parts: readonly Uint8Array[]): boolean {
    const want = Buffer.from(this.sign(parts), 'latin1');
    const got = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  /** Same key and scheme (the key is compared here, never handed out). */
  equals(other: JupyterKey): boolean {
    return this.scheme === other.scheme && this.#key.length === other.#key.length && timingSafeEqual(this.#key, other.#key);
  }

    toJSON(): { scheme: string; key: string } {
    return { scheme: this.scheme, key: '(hidden)' };
  }

  toString(): string {
    return `JupyterKey(${this.scheme}, hidden)`;
  }
}
