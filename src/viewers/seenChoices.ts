/**
 * What the frames viewer's drop-downs list: the socket types, programs and
 * sockets seen in the records the query scanned (bounded: at most SEEN_MAX
 * programs and sockets).
 */
import { CaptureRecord, RecordHeader } from '../core/capture/records';
import { SeenProcess, SeenSocket } from '../shared/protocol/frames';

const SEEN_MAX = 1000;

export class SeenChoices {
  private readonly socketTypeSet = new Set<string>();
  /** The socket types of the last message add() saw (both in socketTypeSet). */
  private readonly lastTypes: (string | undefined)[] = [undefined, undefined];
  /** Programs by pid (a pid keeps its last name: exec renames it) and sockets in agent records. */
  private readonly processSeen = new Map<number, string>();
  private readonly socketSeen = new Map<string, SeenSocket>();

  clear(): void {
    this.socketTypeSet.clear();
    this.lastTypes[0] = this.lastTypes[1] = undefined;
    this.processSeen.clear();
    this.socketSeen.clear();
  }

  /** Notes what a record (or its header) tells: its socket types, its program and socket. */
  add(r: CaptureRecord | RecordHeader): void {
    if (r.kind === 'message') {
      // most messages come from the stream of the one before: nothing new
      if (r.pid === undefined && r.socketType === this.lastTypes[0] && r.peerSocketType === this.lastTypes[1]) return;
      if (r.peerSocketType) this.socketTypeSet.add(r.peerSocketType);
      if (r.socketType) this.socketTypeSet.add(r.socketType);
      this.lastTypes[0] = r.socketType;
      this.lastTypes[1] = r.peerSocketType;
    }
    if (r.pid === undefined) return;
    const pid = r.pid;
    if (r.process && this.processSeen.get(pid) !== r.process && (this.processSeen.has(pid) || this.processSeen.size < SEEN_MAX)) this.processSeen.set(pid, r.process);
    if (r.socket) {
      let s = this.socketSeen.get(r.socket);
      if (!s && this.socketSeen.size < SEEN_MAX) this.socketSeen.set(r.socket, (s = { id: r.socket, pid }));
      if (s && !s.type && (r.kind === 'message' || r.kind === 'socket') && r.socketType && r.socketType !== '?') s.type = r.socketType;
    }
  }

  /** Socket types seen in messages (ours and peers'). */
  get socketTypes(): string[] {
    return [...this.socketTypeSet].sort();
  }

  /** Programs seen in agent records, by pid. */
  get processes(): SeenProcess[] {
    return [...this.processSeen].map(([pid, name]) => ({ pid, name })).sort((a, b) => a.name.localeCompare(b.name) || a.pid - b.pid);
  }

  /** Sockets seen in agent records, in the order of their ids (`<pid>.<n>`, numerically). */
  get sockets(): SeenSocket[] {
    const key = (id: string) => id.split('.').map(Number);
    return [...this.socketSeen.values()].sort((a, b) => {
      const [x, y] = [key(a.id), key(b.id)];
      return x[0] - y[0] || x[1] - y[1];
    });
  }
}
