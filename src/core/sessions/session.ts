/**
 * A capture session: one running source (PUB spy, monitor spy or tap) that feeds
 * the capture. Sessions own their sockets/servers and release them on stop.
 */
import { Disposable, Event } from '../base/lifecycle';
import { SourceKind } from '../capture/records';

/**
 * connecting: no peer yet; connected: handshake done, nothing received yet;
 * receiving: messages arrive; retrying: nothing listens, libzmq retries;
 * listening: a tap waits for connections; stopped; error (see `error`).
 */
export type SessionState = 'connecting' | 'connected' | 'receiving' | 'retrying' | 'listening' | 'stopped' | 'error';

export interface CaptureSession extends Disposable {
  readonly id: string;
  readonly kind: SourceKind;
  /** Short human label, e.g. "spy tcp://127.0.0.1:5556 [10001]". */
  readonly label: string;
  /** The endpoints it observes (for a tap: the target). */
  readonly endpoints: readonly string[];
  readonly state: SessionState;
  /** Why the session is in state 'error'. */
  readonly error?: string;
  readonly onDidChangeState: Event<SessionState>;
  /** Stops the session and releases every socket it holds. Idempotent. */
  stop(): Promise<void>;
}
