/**
 * Texts shown by the trees and the status bar (descriptions, counts, rates).
 * Plain functions without `vscode`, so they are unit-tested in Node.
 */
import type { SessionState } from '../../core/sessions/session';
import { formatBytes, formatCount } from '../../shared/format';

/** Messages per second, e.g. "12 msg/s", "1,204 msg/s". */
export function formatRate(rate: number): string {
  return `${formatCount(rate)} msg/s`;
}

export interface SessionFigures {
  state: SessionState;
  messages: number;
  rate: number;
  evicted: number;
  dropped: number;
  /** Open tap connections (taps only). */
  connections?: number;
  /** A spy that cannot keep up: bytes known to wait for it (undefined when unknown), or false when it keeps up. */
  behind?: { backlogBytes?: number } | false;
  /** Failed connects in the current run of retries. */
  retryAttempts?: number;
}

/**
 * "1,234 msgs · 12 msg/s · 5 evicted · 2 dropped" while receiving (the icon says
 * so; the numbers come first because a narrow side bar cuts the end), else the
 * state first: "retrying · 0 msgs · 0 msg/s". Zero evicted/dropped are left out.
 */
export function sessionDescription(f: SessionFigures): string {
  const parts: string[] = [`${formatCount(f.messages)} ${f.messages === 1 ? 'msg' : 'msgs'}`];
  if (f.state !== 'receiving') parts.unshift(f.state === 'retrying' && f.retryAttempts ? `retrying (${formatCount(f.retryAttempts)} attempts)` : f.state);
  if (f.behind) parts.unshift(`falling behind${f.behind.backlogBytes !== undefined ? ` (≥ ${formatBytes(f.behind.backlogBytes)} waiting)` : ''}`);
  if (f.state !== 'stopped' && f.state !== 'error') parts.push(formatRate(f.rate));
  if (f.connections !== undefined) parts.push(`${f.connections} ${f.connections === 1 ? 'connection' : 'connections'}`);
  if (f.evicted) parts.push(`${formatCount(f.evicted)} evicted`);
  if (f.dropped) parts.push(`${formatCount(f.dropped)} dropped`);
  return parts.join(' · ');
}

/** Codicon id for a session state (the tree item's icon). */
export function stateIcon(state: SessionState): string {
  switch (state) {
    case 'connecting':
      return 'loading~spin';
    case 'connected':
      return 'plug';
    case 'receiving':
      return 'pulse';
    case 'retrying':
      return 'sync~spin';
    case 'listening':
      return 'radio-tower';
    case 'stopped':
      return 'debug-stop';
    case 'error':
      return 'error';
  }
}

/** Status bar text: "$(radio-tower) 2 · 153 msg/s", or just the icon when nothing runs. */
export function statusBarText(sessions: number, rate: number, behind = 0): string {
  if (!sessions) return '$(radio-tower) ZeroMQ';
  return `$(radio-tower) ${sessions} · ${formatRate(rate)}${behind ? ` · $(warning) ${behind} falling behind` : ''}`;
}

export interface EndpointUse {
  role?: 'bind' | 'connect';
  socketType?: string;
}

export interface EndpointFigures {
  /** What the code does with it, where seen (one per location or source entry). */
  uses?: readonly EndpointUse[];
  /** Ids of running sessions that observe it. */
  sessions?: readonly string[];
}

/** "binds PUB · connects SUB/XSUB": each role with its socket types; "" when nothing is known. */
export function endpointUses(uses: readonly EndpointUse[]): string {
  const byRole = new Map<string, Set<string>>();
  for (const u of uses) {
    if (!u.role && !u.socketType) continue;
    const key = u.role === 'bind' ? 'binds' : u.role === 'connect' ? 'connects' : '';
    const types = byRole.get(key) ?? new Set<string>();
    if (u.socketType) types.add(u.socketType);
    byRole.set(key, types);
  }
  return ['binds', 'connects', '']
    .filter((k) => byRole.has(k))
    .map((k) => `${k} ${[...byRole.get(k)!].join('/')}`.trim())
    .filter(Boolean)
    .join(' · ');
}

/** "spy-1 · binds PUB · connects SUB": live sessions first (a narrow side bar cuts the end). */
export function endpointDescription(f: EndpointFigures): string {
  const parts: string[] = [];
  if (f.sessions?.length) parts.push(f.sessions.join(', '));
  const uses = endpointUses(f.uses ?? []);
  if (uses) parts.push(uses);
  return parts.join(' · ');
}


/**
 * Splits the spy topic prompt ("10001, hex:0aff") into topic texts; an empty
 * answer means every topic. Commas separate; a topic with a comma or with
 * leading/trailing spaces is written in hex.
 */
export function splitTopics(input: string): string[] {
  return input
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/** Parses the monitor prefix prompt "in,out" into two distinct prefixes, or throws with why not. */
export function parsePrefixes(input: string): { inPrefix: string; outPrefix: string } {
  const parts = input.split(',').map((p) => p.trim());
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new Error('give two prefixes separated by a comma: the in prefix and the out prefix, such as in,out');
  }
  if (parts[0] === parts[1]) throw new Error(`the in and out prefixes must differ (both are '${parts[0]}')`);
  return { inPrefix: parts[0], outPrefix: parts[1] };
}

/** Validates a TCP port typed by the user; returns why not, or undefined. */
export function validatePort(input: string): string | undefined {
  const t = input.trim();
  if (!/^\d+$/.test(t)) return `'${input}' is not a port number`;
  const n = Number(t);
  if (n < 1 || n > 65535) return `port ${n} is out of range (1-65535)`;
  return undefined;
}

/**
 * What the Endpoints and Examples views show of the running sessions (their
 * ids, states and endpoints): a spy's details change up to 4 times a second
 * (retries, how far behind it is), which those views do not show, and each
 * refresh of theirs costs a round trip and a repaint in the workbench.
 */
export function sessionsShownKey(sessions: readonly { id: string; state: string; endpoints: readonly string[] }[]): string {
  return sessions.map((s) => `${s.id} ${s.state} ${s.endpoints.join(' ')}`).join('\n');
}

/** Calls `listener` when what sessionsShownKey covers changed, not on every change of a spy's details. */
export function onShownSessionsChange(
  sessions: { onDidChange: (listener: () => void) => { dispose(): void }; list(): readonly { id: string; state: string; endpoints: readonly string[] }[] },
  listener: () => void,
): { dispose(): void } {
  let shown = sessionsShownKey(sessions.list());
  return sessions.onDidChange(() => {
    const key = sessionsShownKey(sessions.list());
    if (key === shown) return;
    shown = key;
    listener();
  });
}
