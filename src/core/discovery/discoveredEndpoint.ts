/** What the scanner reports for one bind/connect call, and the languages it reads. */

export type DiscoveryLanguage = 'python' | 'javascript' | 'typescript' | 'c' | 'cpp' | 'go' | 'java' | 'csharp';

export interface DiscoveredEndpoint {
  /** Normalised endpoint as written in the code, e.g. `tcp://*:5556`, `tcp://localhost:5556`. */
  endpoint: string;
  /**
   * Where a debugger connects to observe it (`tcp://*:5556` and `tcp://localhost:5556`
   * both give `tcp://127.0.0.1:5556`); groups the binder and its connectors.
   * Undefined for inproc://, which another process cannot reach.
   */
  address?: string;
  /** 0-based line and column of the call (the method or function name). */
  line: number;
  column: number;
  /** 0-based position just after the call's closing parenthesis. */
  endLine: number;
  endColumn: number;
  role: 'bind' | 'connect';
  /** Socket type when the code shows it: PUB, SUB, REQ, REP, PUSH, PULL, ROUTER, DEALER, PAIR, XPUB, XSUB, STREAM. */
  socketType?: string;
  /** The expression the call is made on (`socket`, `self.frontend`), when there is one. */
  variable?: string;
  /** True when the socket republishes a monitored queue's traffic (pyzmq `bind_mon`, 3rd socket of `monitored_queue`). */
  monitor?: boolean;
}

const EXTENSIONS: Record<string, DiscoveryLanguage> = {
  py: 'python', pyw: 'python',
  js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascript',
  ts: 'typescript', mts: 'typescript', cts: 'typescript', tsx: 'typescript',
  c: 'c', h: 'c',
  cc: 'cpp', cpp: 'cpp', cxx: 'cpp', hpp: 'cpp', hh: 'cpp', hxx: 'cpp',
  go: 'go', java: 'java', cs: 'csharp',
};

const LANGUAGE_IDS: Record<string, DiscoveryLanguage> = {
  python: 'python', javascript: 'javascript', javascriptreact: 'javascript', typescript: 'typescript',
  typescriptreact: 'typescript', c: 'c', cpp: 'cpp', go: 'go', java: 'java', csharp: 'csharp',
};

/** The language for a VS Code language id, a file name/path or a bare extension; undefined when not scanned. */
export function discoveryLanguage(languageIdOrPath: string): DiscoveryLanguage | undefined {
  const s = languageIdOrPath.trim();
  if (LANGUAGE_IDS[s]) return LANGUAGE_IDS[s];
  const dot = s.lastIndexOf('.');
  const ext = (dot >= 0 ? s.slice(dot + 1) : s).toLowerCase();
  return EXTENSIONS[ext];
}

/** VS Code language ids the scanner understands (for CodeLens/hover selectors). */
export const DISCOVERY_LANGUAGE_IDS = Object.keys(LANGUAGE_IDS);
