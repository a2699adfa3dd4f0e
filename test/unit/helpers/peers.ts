/**
 * Test helpers for real peers: free ports on 127.0.0.1 and pyzmq programs run
 * with Debian's /usr/bin/python3 (python3-zmq), killed when the test ends.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export const PYTHON = process.env.ZMQ_DEBUG_PYTHON ?? '/usr/bin/python3';

/** Ports freePort() handed out lately: a test that takes several in a row must get different ones. */
const recentlyGiven: number[] = [];

/**
 * A TCP port that was free on 127.0.0.1 a moment ago, and not one of the last
 * 256 this process was given: the kernel may hand a just-closed port out again,
 * and a test asking for three ports in a row got the same one twice (its
 * second bind failed with "Address already in use").
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = await listenAndClose();
    if (tries < 20 && recentlyGiven.includes(port)) continue;
    recentlyGiven.push(port);
    if (recentlyGiven.length > 256) recentlyGiven.shift();
    return port;
  }
}

function listenAndClose(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface PythonPeer {
  proc: ChildProcess;
  /** Everything printed so far on stdout. */
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout contains `text` (rejects after timeoutMs or if the process exits first). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

const running = new Set<PythonPeer>();

/** Runs a Python 3 program (source text) with pyzmq; `args` become sys.argv[1:]. */
export function runPython(source: string, args: (string | number)[] = []): PythonPeer {
  const proc = spawn(PYTHON, ['-u', '-c', source, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const peer: PythonPeer = {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(text, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const has = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
        if (has()) return resolve();
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${text} from python; stdout=${out.slice(-500)} stderr=${err.slice(-1000)}`));
        }, timeoutMs);
        const onData = () => {
          if (has()) {
            cleanup();
            resolve();
          }
        };
        const onExit = (code: number | null) => {
          if (has()) return;
          cleanup();
          reject(new Error(`python exited (${code}) before printing ${text}; stdout=${out.slice(-500)} stderr=${err.slice(-2000)}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          proc.stdout!.off('data', onData);
          proc.off('exit', onExit);
        };
        proc.stdout!.on('data', onData);
        proc.on('exit', onExit);
      });
    },
    async kill() {
      running.delete(peer);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
  running.add(peer);
  return peer;
}

/**
 * A pyzmq SUB that connects to argv[1] with these subscriptions, prints "connected", then
 * receives forever, printing "got" after each message when `announceEach`.
 */
export function runPythonSubscriber(endpoint: string, topics: string[], announceEach = false): PythonPeer {
  const source = `
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.connect(sys.argv[1])
for topic in sys.argv[3:]:
    s.setsockopt_string(zmq.SUBSCRIBE, topic)
print('connected', flush=True)
while True:
    s.recv_multipart()
    if sys.argv[2] == 'each':
        print('got', flush=True)
`;
  return runPython(source, [endpoint, announceEach ? 'each' : 'quiet', ...topics]);
}

/** Kills every Python peer still running (call from afterEach). */
export async function killAllPython(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}

/** Waits until `cond()` is true, polling every 10 ms; rejects with `what` after timeoutMs. */
export async function until(cond: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
