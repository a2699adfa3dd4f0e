/**
 * The doctor: pure rules over a topology snapshot that explain why messages go
 * missing. Each finding says what is wrong and what to do, names the nodes and
 * edges of the map it concerns and, for findings about code, the line.
 */
import type { TopologySnapshot } from './topologyFacts';
import { Context, type Diagnostic, type DoctorOptions, type DoctorRule, type DoctorSeverity, loc, portKey } from './doctorContext';
import { pubNoSubscriber, reqNoReply, requestLatencyHigh, subNoMatchingTopic } from './doctorTrafficRules';
import { connectRetrying, portBoundTwice, socketTypesAndHandshakes } from './doctorConnectionRules';
import { codeRules } from './doctorCodeRules';
import { insideRules } from './doctorAgentRules';

export type { Diagnostic, DoctorOptions, DoctorRule, DoctorSeverity } from './doctorContext';

export const DOCTOR_RULES: Record<DoctorRule, string> = {
  'pub-no-subscriber': 'PUB publishing with no subscriber connected',
  'sub-no-matching-topic': 'Subscriber whose subscriptions match none of the published topics',
  'req-no-reply': 'REQ waiting for a reply',
  'request-latency-high': 'Replies slower than the request timeout',
  'incompatible-socket-types': 'Connected socket types that ZeroMQ does not allow',
  'handshake-failed': 'Handshake failed',
  'connect-retrying': 'Connect retrying: nothing listens',
  'port-bound-twice': 'Two programs bind the same port',
  'code-connect-unbound': 'Code connects to an endpoint nobody binds',
  'code-incompatible-pair': 'Code binds and connects socket types that cannot talk',
  'send-dropped': 'Sends refused (EAGAIN): high-water mark reached or no peer',
  'slow-joiner': 'Subscriber missed the first messages (slow joiner)',
  'req-rep-out-of-turn': 'REQ/REP used out of turn (EFSM)',
  'router-no-delimiter': 'ROUTER reply to a REQ without the empty delimiter',
  'sub-near-miss': 'Subscription that almost matches what is published',
  'unseen-path': 'Messages moved where the agents cannot see them (a device inside libzmq)',
  'endpoint-failed': 'Bind or connect failed',
};

export function diagnose(s: TopologySnapshot, options: DoctorOptions = {}): Diagnostic[] {
  const o: Required<DoctorOptions> = {
    reqTimeoutMs: options.reqTimeoutMs ?? 3000,
    recentMs: options.recentMs ?? 30_000,
    minPublishedForTopicCheck: options.minPublishedForTopicCheck ?? 5,
    subscribeGraceMs: options.subscribeGraceMs ?? 1000,
    minRequestsForLatency: options.minRequestsForLatency ?? 20,
    markExited: options.markExited ?? true,
  };
  const out: Diagnostic[] = [];
  const ctx = new Context(s, o);
  pubNoSubscriber(ctx, out);
  subNoMatchingTopic(ctx, out);
  reqNoReply(ctx, out);
  requestLatencyHigh(ctx, out);
  socketTypesAndHandshakes(ctx, out);
  connectRetrying(ctx, out);
  portBoundTwice(ctx, out);
  codeRules(ctx, out);
  insideRules(ctx, out);
  attachCodeLocations(s, out);
  const rank: Record<DoctorSeverity, number> = { error: 0, warning: 1, info: 2 };
  return out.sort((a, b) => rank[a.severity] - rank[b.severity] || a.id.localeCompare(b.id));
}


/**
 * A live finding about an endpoint also points at the code that binds (or, for
 * retrying connects, connects) it, so that it shows on that line.
 */
function attachCodeLocations(s: TopologySnapshot, out: Diagnostic[]): void {
  if (s.code.length === 0) return;
  for (const d of out) {
    if (d.location || !d.endpoint) continue;
    const k = portKey(d.endpoint);
    const sites = s.code.filter((c) => c.file && portKey(c.endpoint) === k);
    const preferred = d.rule === 'connect-retrying' ? 'connect' : 'bind';
    const ordered = [...sites.filter((c) => c.role === preferred), ...sites.filter((c) => c.role !== preferred)];
    if (!ordered.length) continue;
    d.location = loc(ordered[0]);
    const rest = ordered.slice(1, 6).map((c) => ({ location: loc(c)!, message: `${c.role}s ${c.endpoint}` }));
    if (rest.length) d.related = rest;
  }
}
