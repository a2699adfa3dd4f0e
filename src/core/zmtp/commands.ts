/**
 * Decoding of ZMTP command bodies: READY/ERROR/PING/PONG/SUBSCRIBE/CANCEL
 * (23/ZMTP, 37/ZMTP), PLAIN HELLO/WELCOME/INITIATE (24/ZMTP-PLAIN) and the CURVE
 * handshake (26/CurveZMQ). Secrets never leave this module: the PLAIN password
 * is reduced to `***` and CURVE boxes and keys to their lengths.
 */
import { toHex, u32be } from '../base/bytes';

export interface ZmtpCommand {
  /** Command name as sent (READY, ERROR, PING, SUBSCRIBE, HELLO, ...). */
  name: string;
  /** READY / PLAIN INITIATE metadata, values as raw bytes (own copies). */
  properties?: Record<string, Uint8Array>;
  /** SUBSCRIBE / CANCEL topic. */
  topic?: Uint8Array;
  /** Human-readable details: ERROR reason, PLAIN user name, PING TTL, CURVE box sizes, ... */
  detail?: string;
  /** Size of the command body on the wire (for a 3.0-style subscription: the message size). */
  size: number;
  /** PING: its context bytes (own copy), which the PONG must echo. */
  context?: Uint8Array;
}

export type ParsedCommand = { encryptedMessage: true } | { encryptedMessage: false; command: ZmtpCommand };

/**
 * `body` holds the captured part of the command frame (name length, name, data);
 * `size` is its full size on the wire. Returns an error text for a body that is
 * not a command at all.
 */
export function parseCommand(body: Uint8Array, size: number, curve: boolean, plain: boolean): ParsedCommand | string {
  const nameLen = body[0];
  if (body.length < 1 + nameLen) return `malformed command frame (${size} B)`;
  let name = '';
  for (let i = 1; i <= nameLen; i++) {
    const c = body[i];
    if (c < 0x21 || c > 0x7e) return `malformed command name (${size} B command frame)`;
    name += String.fromCharCode(c);
  }
  if (nameLen === 0) return 'command frame with an empty name';
  const data = body.subarray(1 + nameLen);
  const dataSize = size - 1 - nameLen;
  const command: ZmtpCommand = { name, size };
  if (curve) {
    if (name === 'MESSAGE') return { encryptedMessage: true };
    const detail = curveDetail(name, data, dataSize);
    if (detail !== undefined) {
      command.detail = detail;
      return { encryptedMessage: false, command };
    }
  }
  describeCommand(command, data, dataSize, body.length < size ? `; ${body.length} of ${size} B captured` : '', plain);
  return { encryptedMessage: false, command };
}

/** What a CURVE handshake command carries (its boxes are opaque); undefined for a command CURVE does not change. */
function curveDetail(name: string, data: Uint8Array, dataSize: number): string | undefined {
  switch (name) {
    case 'HELLO':
      // version (2) + padding (72) + client transient key C' (32) + short nonce (8) + signature box (80)
      return dataSize >= 2
        ? `CURVE version ${data[0]}.${data[1]}, client transient key ${clampLen(dataSize - 74, 32)} B, signature box ${Math.max(0, dataSize - 114)} B`
        : `${dataSize} B`;
    case 'WELCOME':
      // long nonce (16) + box with server transient key and cookie (144)
      return `nonce ${clampLen(dataSize, 16)} B, box ${Math.max(0, dataSize - 16)} B (server transient key + cookie)`;
    case 'INITIATE':
      // cookie (96) + short nonce (8) + box (client key, vouch, metadata)
      return `cookie ${clampLen(dataSize, 96)} B, box ${Math.max(0, dataSize - 104)} B (client key, vouch, encrypted metadata)`;
    case 'READY':
      return `encrypted metadata box ${Math.max(0, dataSize - 8)} B`;
  }
  return undefined;
}

/** A NULL or PLAIN command's fields and detail, written into `command`; `cut` says when the body was captured short. */
function describeCommand(command: ZmtpCommand, data: Uint8Array, dataSize: number, cut: string, plain: boolean): void {
  switch (command.name) {
    case 'READY':
    case 'INITIATE': {
      const props = parseProperties(data);
      command.properties = props.properties;
      if (props.error || cut) command.detail = (props.error ?? 'metadata') + cut;
      break;
    }
    case 'ERROR': {
      const len = data.length > 0 ? data[0] : 0;
      command.detail = utf8(data.subarray(1, 1 + len)) + cut;
      break;
    }
    case 'PING': {
      if (data.length >= 2) {
        const ttl = (data[0] << 8) | data[1];
        const ctx = data.subarray(2);
        command.detail = `ttl ${(ttl / 10).toFixed(1)} s` + (ctx.length ? `, context ${hexShort(ctx)}` : '');
        if (!cut) command.context = new Uint8Array(ctx);
      } else command.detail = `malformed PING (${dataSize} B)`;
      break;
    }
    case 'PONG':
      if (data.length) command.detail = `context ${hexShort(data)}`;
      break;
    case 'SUBSCRIBE':
    case 'CANCEL':
      command.topic = new Uint8Array(data);
      if (cut) command.detail = `topic truncated${cut}`;
      break;
    case 'HELLO':
      command.detail = plain ? plainHello(data) : `${dataSize} B`;
      break;
    case 'WELCOME':
      if (dataSize) command.detail = `${dataSize} B`;
      break;
    default:
      command.detail = `${dataSize} B`;
  }
}

/** 24/ZMTP-PLAIN HELLO: user name shown, password masked. */
function plainHello(data: Uint8Array): string {
  if (data.length < 1) return 'malformed PLAIN HELLO';
  const ulen = data[0];
  if (data.length < 1 + ulen + 1) return 'malformed PLAIN HELLO';
  const user = utf8(data.subarray(1, 1 + ulen));
  const plen = data[1 + ulen];
  const ok = data.length === 2 + ulen + plen;
  return `user ${JSON.stringify(user)}, password ***` + (ok ? '' : ' (malformed)');
}

/** READY/INITIATE metadata: name-len (1) name value-len (4, big-endian) value, repeated. */
export function parseProperties(data: Uint8Array): { properties: Record<string, Uint8Array>; error?: string } {
  const properties: Record<string, Uint8Array> = {};
  let pos = 0;
  while (pos < data.length) {
    const nlen = data[pos];
    if (nlen === 0 || pos + 1 + nlen + 4 > data.length) return { properties, error: `malformed metadata at byte ${pos}` };
    let name = '';
    for (let i = pos + 1; i <= pos + nlen; i++) name += String.fromCharCode(data[i]);
    pos += 1 + nlen;
    const vlen = u32be(data, pos);
    pos += 4;
    if (pos + vlen > data.length) return { properties, error: `malformed metadata: ${name} value exceeds the command` };
    // defineProperty: a property named "__proto__" must stay a plain key
    Object.defineProperty(properties, name, {
      value: new Uint8Array(data.subarray(pos, pos + vlen)),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    pos += vlen;
  }
  return { properties };
}

function clampLen(n: number, max: number): number {
  return Math.max(0, Math.min(n, max));
}

function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

function hexShort(b: Uint8Array): string {
  return toHex(b, 16) + (b.length > 16 ? '…' : '');
}
