/**
 * Jupyter kernel connection files (kernel-*.json in the runtime directory):
 * the five channels' ports and the signing key. The key is kept as a JupyterKey
 * (never exposed as text).
 */
import { readRegularFile } from '../base/files';
import { JupyterKey } from './jupyterKey';

/** The five channels, with the kernel's socket type and the client's. */
export const JUPYTER_CHANNELS = [
  { name: 'shell', portKey: 'shell_port', kernelSocket: 'ROUTER', clientSocket: 'DEALER' },
  { name: 'iopub', portKey: 'iopub_port', kernelSocket: 'PUB', clientSocket: 'SUB' },
  { name: 'stdin', portKey: 'stdin_port', kernelSocket: 'ROUTER', clientSocket: 'DEALER' },
  { name: 'control', portKey: 'control_port', kernelSocket: 'ROUTER', clientSocket: 'DEALER' },
  { name: 'hb', portKey: 'hb_port', kernelSocket: 'REP', clientSocket: 'REQ' },
] as const;

export type JupyterChannelName = (typeof JUPYTER_CHANNELS)[number]['name'];

export interface JupyterChannel {
  name: JupyterChannelName;
  /** e.g. tcp://127.0.0.1:53794 */
  endpoint: string;
  kernelSocket: string;
  clientSocket: string;
}

export interface JupyterConnection {
  transport: string;
  ip: string;
  channels: JupyterChannel[];
  /** The kernel's key (empty when the kernel does not sign). */
  key: JupyterKey;
  kernelName?: string;
}

/** A file's JSON object; the error never quotes the text (JSON.parse's does, and it may hold the key). */
function jsonObject(text: string, where: string): Record<string, unknown> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON`);
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error(`${where} is not a JSON object`);
  return o as Record<string, unknown>;
}

/** Parses a connection file's text; throws an Error that names what is wrong. */
export function parseConnectionInfo(text: string, where = 'connection file'): JupyterConnection {
  const o = jsonObject(text, where);
  const transport = typeof o.transport === 'string' ? o.transport : 'tcp';
  const ip = typeof o.ip === 'string' ? o.ip : '127.0.0.1';
  const channels: JupyterChannel[] = [];
  for (const c of JUPYTER_CHANNELS) {
    const port = o[c.portKey];
    if (typeof port !== 'number' || !Number.isInteger(port)) throw new Error(`${where} has no ${c.portKey}`);
    // ipc transport: the endpoint is ip-port (jupyter_client's naming)
    const endpoint = transport === 'ipc' ? `ipc://${ip}-${port}` : `${transport}://${ip === '0.0.0.0' || ip === '*' ? '127.0.0.1' : ip}:${port}`;
    channels.push({ name: c.name, endpoint, kernelSocket: c.kernelSocket, clientSocket: c.clientSocket });
  }
  const key = new JupyterKey(typeof o.key === 'string' ? o.key : '', typeof o.signature_scheme === 'string' ? o.signature_scheme : 'hmac-sha256');
  const conn: JupyterConnection = { transport, ip, channels, key };
  if (typeof o.kernel_name === 'string' && o.kernel_name) conn.kernelName = o.kernel_name;
  return conn;
}

function readText(file: string): string {
  try {
    return readRegularFile(file).toString('utf8');
  } catch (e) {
    throw new Error(`cannot read Jupyter connection file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function readConnectionFile(file: string): JupyterConnection {
  return parseConnectionInfo(readText(file), file);
}

/**
 * The signing key of any JSON file that holds `key` (and `signature_scheme`,
 * hmac-sha256 when absent): a kernel's connection file, ipyparallel's
 * ipcontroller-client.json / ipcontroller-engine.json, or any other program
 * speaking the Jupyter wire protocol. Ports are not needed to check signatures.
 */
export function parseSigningKey(text: string, where = 'connection file'): JupyterKey {
  const o = jsonObject(text, where);
  if (typeof o.key !== 'string') throw new Error(`${where} has no "key" (the HMAC signing key of a Jupyter connection file)`);
  if (o.signature_scheme !== undefined && typeof o.signature_scheme !== 'string') throw new Error(`${where}: "signature_scheme" is not a string`);
  return new JupyterKey(o.key, o.signature_scheme ?? 'hmac-sha256');
}

export function readSigningKey(file: string): JupyterKey {
  return parseSigningKey(readText(file), file);
}
