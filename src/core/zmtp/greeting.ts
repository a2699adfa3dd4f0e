/**
 * The ZMTP 3.x greeting we send (23/ZMTP): signature, version, mechanism,
 * as-server flag and filler, 64 bytes. The spy and the socket-type probe both
 * speak as NULL clients; only the minor version they announce differs.
 */

export interface GreetingOptions {
  /** ZMTP minor version: 0 (3.0) or 1 (3.1, which adds PING/PONG and SUBSCRIBE commands). */
  minor: 0 | 1;
  /** Security mechanism name, at most 20 ASCII characters. Default NULL. */
  mechanism?: string;
  /** The as-server flag (PLAIN and CURVE servers). Default false. */
  asServer?: boolean;
}

export function zmtpGreeting({ minor, mechanism = 'NULL', asServer = false }: GreetingOptions): Buffer {
  if (mechanism.length > 20 || !/^[\x21-\x7e]*$/.test(mechanism)) throw new Error(`not a ZMTP mechanism name: ${mechanism}`);
  const g = Buffer.alloc(64);
  g[0] = 0xff; // signature: 0xff, 8 bytes of padding, 0x7f
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = minor;
  g.write(mechanism, 12, 'latin1');
  g[32] = asServer ? 1 : 0;
  return g;
}
