/**
 * The records one direction of a relayed (or captured) ZMTP connection makes:
 * the live tap and the pcap reader build them here, so that a connection read
 * from a packet capture gives exactly the records a tap would have made.
 */
import type { ZmtpCommand, ZmtpGreeting } from '../zmtp/decoder';
import { reqRepEnvelopeFrames, type CapturedMessage, type CommandRecord, type Direction, type GreetingRecord } from './records';

/** Where a direction's records belong: the tap session, the endpoint, which way, which connection. */
export interface TapSidePlace {
  session: string;
  endpoint: string;
  direction: Direction;
  connection: number;
}

/** What the sending side's decoder learnt from its READY. */
export interface TapSender {
  readonly socketType: string | undefined;
  readonly identity: Uint8Array | undefined;
}

export function tapGreetingRecord(at: TapSidePlace, ts: number, g: ZmtpGreeting): GreetingRecord {
  return {
    seq: 0,
    ts,
    session: at.session,
    source: 'tap',
    endpoint: at.endpoint,
    kind: 'greeting',
    direction: at.direction,
    connection: at.connection,
    version: g.version,
    mechanism: g.mechanism,
    asServer: g.asServer,
  };
}

export function tapCommandRecord(at: TapSidePlace, ts: number, c: ZmtpCommand): CommandRecord {
  const r: CommandRecord = {
    seq: 0,
    ts,
    session: at.session,
    source: 'tap',
    endpoint: at.endpoint,
    kind: 'command',
    direction: at.direction,
    connection: at.connection,
    name: c.name,
  };
  if (c.properties) r.properties = c.properties;
  if (c.topic) r.topic = c.topic;
  if (c.detail !== undefined) r.detail = c.detail;
  return r;
}

/**
 * A message as the tap records it: `socketType` is the SENDER's type and
 * `peerSocketType` the RECEIVER's, `identity` the sender's announced one; a
 * REQ/REP message gets its envelope frames marked.
 */
export function tapMessageRecord(
  at: TapSidePlace,
  ts: number,
  frames: Uint8Array[],
  truncated: Record<number, number> | undefined,
  encrypted: boolean,
  sender: TapSender | undefined,
  receiverType: string | undefined,
): CapturedMessage {
  const senderType = sender?.socketType;
  const r: CapturedMessage = {
    seq: 0,
    ts,
    session: at.session,
    source: 'tap',
    endpoint: at.endpoint,
    kind: 'message',
    direction: at.direction,
    frames,
    connection: at.connection,
  };
  if (truncated) r.truncated = truncated;
  if (senderType) r.socketType = senderType;
  if (receiverType) r.peerSocketType = receiverType;
  const identity = sender?.identity;
  if (identity) r.identity = identity;
  if (encrypted) r.encrypted = true;
  else if (isReqRep(senderType) || isReqRep(receiverType)) {
    const envelope = reqRepEnvelopeFrames(frames, truncated);
    if (envelope) r.envelopeFrames = envelope;
  }
  return r;
}

/** REQ and REP messages carry an envelope (the delimiter and, through a ROUTER, the routing ids). */
export function isReqRep(t: string | undefined): boolean {
  return t === 'REQ' || t === 'REP';
}
