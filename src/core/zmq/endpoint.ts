/**
 * ZeroMQ endpoint strings: parsing and validation with precise, human messages.
 *
 * Accepted: `tcp://host:port`, `tcp://*:port` (bind form: a spy connects to
 * 127.0.0.1 for it), `tcp://[::1]:port`, `ipc:///path`, `inproc://name`.
 */

export type Endpoint =
  | { transport: 'tcp'; host: string; port: number; wildcard: boolean; text: string }
  | { transport: 'ipc'; path: string; text: string }
  | { transport: 'inproc'; name: string; text: string };

export class EndpointError extends Error {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(input.trim() ? `Invalid endpoint '${input}': ${reason}` : `Invalid endpoint: ${reason}`);
    this.name = 'EndpointError';
  }
}

const KNOWN_TRANSPORTS = ['tcp', 'ipc', 'inproc', 'pgm', 'epgm', 'udp', 'ws', 'wss', 'vmci', 'tipc'];

/** Parses an endpoint string; throws EndpointError with a precise reason. */
export function parseEndpoint(input: string): Endpoint {
  const text = input.trim();
  if (!text) throw new EndpointError(input, 'it is empty; expected something like tcp://127.0.0.1:5556');
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(text);
  if (!m) {
    if (/^[^/:]+:\d+$/.test(text) || /^\[[^\]]+\]:\d+$/.test(text)) {
      throw new EndpointError(input, `no transport; did you mean tcp://${text}?`);
    }
    throw new EndpointError(input, 'expected transport://address, such as tcp://127.0.0.1:5556 or ipc:///tmp/feed.ipc');
  }
  const transport = m[1].toLowerCase();
  const rest = m[2];
  switch (transport) {
    case 'tcp':
      return parseTcp(input, rest);
    case 'ipc':
      if (!rest) throw new EndpointError(input, 'ipc:// needs a path, such as ipc:///tmp/feed.ipc');
      return { transport: 'ipc', path: rest, text: `ipc://${rest}` };
    case 'inproc':
      if (!rest) throw new EndpointError(input, 'inproc:// needs a name, such as inproc://workers');
      return { transport: 'inproc', name: rest, text: `inproc://${rest}` };
    default:
      if (KNOWN_TRANSPORTS.includes(transport)) {
        throw new EndpointError(input, `the ${transport}:// transport is not supported by the debugger; use tcp:// or ipc://`);
      }
      throw new EndpointError(input, `unknown transport '${m[1]}'; use tcp://, ipc:// or inproc://`);
  }
}

function parseTcp(input: string, rest: string): Endpoint {
  // interface;host:port (source-address form) is accepted for connect strings: keep the part after ';'
  const address = rest.includes(';') ? rest.slice(rest.lastIndexOf(';') + 1) : rest;
  let host: string;
  let portText: string | undefined;
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0) throw new EndpointError(input, "IPv6 address is missing its closing ']'");
    host = address.slice(1, close);
    const after = address.slice(close + 1);
    if (!after.startsWith(':')) throw new EndpointError(input, 'missing port; expected tcp://[::1]:PORT');
    portText = after.slice(1);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) throw new EndpointError(input, `missing port; expected tcp://${address || 'HOST'}:PORT`);
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(':')) throw new EndpointError(input, 'an IPv6 address must be in brackets, such as tcp://[::1]:5556');
  }
  if (!host) throw new EndpointError(input, 'missing host; use tcp://127.0.0.1:PORT to connect or tcp://*:PORT to bind');
  if (portText === '*' || portText === '!') {
    throw new EndpointError(input, 'a wildcard port only makes sense when binding; give the actual port number to observe it');
  }
  if (!/^\d+$/.test(portText)) throw new EndpointError(input, `port '${portText}' is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new EndpointError(input, `port ${port} is out of range (1-65535)`);
  if (!/^[A-Za-z0-9.\-_*:%]+$/.test(host)) throw new EndpointError(input, `host '${host}' contains invalid characters`);
  const wildcard = host === '*' || host === '0.0.0.0' || host === '::';
  return { transport: 'tcp', host, port, wildcard, text: `tcp://${bracketHost(host)}:${port}` };
}

/** Returns a human error message for an invalid endpoint, or undefined when it is valid. */
export function validateEndpoint(input: string): string | undefined {
  try {
    parseEndpoint(input);
    return undefined;
  } catch (e) {
    return e instanceof EndpointError ? e.message : String(e);
  }
}

/**
 * The address a debugger socket should connect to in order to observe `endpoint`:
 * bind forms (`tcp://*:5556`, `tcp://0.0.0.0:5556`) become 127.0.0.1. inproc endpoints
 * cannot be reached from another process and are rejected with an explanation.
 */
export function connectAddressFor(endpoint: Endpoint | string): string {
  const ep = typeof endpoint === 'string' ? parseEndpoint(endpoint) : endpoint;
  switch (ep.transport) {
    case 'tcp':
      if (ep.host === '::') return `tcp://[::1]:${ep.port}`;
      return ep.wildcard ? `tcp://127.0.0.1:${ep.port}` : ep.text;
    case 'ipc':
      return ep.text;
    case 'inproc':
      throw new EndpointError(
        ep.text,
        'inproc:// endpoints are only reachable by sockets inside the same process (the same zmq context); the debugger runs in another process and cannot observe them. Expose the socket on tcp:// or ipc:// to debug it',
      );
  }
}

/** Parses `host:port` (or `[v6]:port`, or just `port`) as used by the tap's --listen/--target. */
export function parseHostPort(input: string, defaultHost = '127.0.0.1'): { host: string; port: number } {
  const text = input.trim().replace(/^tcp:\/\//, '');
  const withHost = /^\d+$/.test(text) ? `${bracketHost(defaultHost)}:${text}` : text;
  const ep = parseEndpoint(`tcp://${withHost}`);
  if (ep.transport !== 'tcp') throw new EndpointError(input, 'expected HOST:PORT');
  return { host: ep.host === '*' ? '0.0.0.0' : ep.host, port: ep.port };
}

/** An IPv6 host in brackets, as it is written before `:port`; any other host as it is. */
export function bracketHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
