/**
 * The host side of one frames viewer: speaks the typed protocol (src/protocol.ts)
 * with its webview, keeps the query model up to date and sends it batches at
 * display rate (one timer, coalesced: never one post per message) with only the
 * rows of the window the view shows. Paused: only counters. Hidden: nothing at
 * all; it catches up from the capture when shown again. No vscode here: the
 * extension layer (src/extension/framesViewer.ts) adapts a WebviewPanel to
 * `ViewerHost`, and the benchmark drives the same code from a plain page.
 */
import { basename } from 'node:path';
import { Capture } from '../core/capture/capture';
import { badLineCount, ImportResult, parseJsonLines } from '../core/capture/exportFormat';
import type { ExportTotals } from '../core/capture/exportWriter';
import { FilterError, FramesQuery, UpdateResult } from './framesQuery';
import { frameDetails } from './recordRows';
import { Disposable, DisposableStore } from '../core/base/lifecycle';
import { CaptureRecord } from '../core/capture/records';
import { encodeFrames, Sender, SendError } from '../core/zmq/sender';
import { assertNever, Counters, DecoderRuleSpec, FallingBehind, FrameFilter, RowSummary, FromHost, FromWebview, parseFromWebview, ProtocolError } from '../shared/protocol/frames';
import { createDecoder, decoderUsages } from '../core/decoders/registry';
import { parseTopic } from '../core/zmq/topics';
import { DecoderRule, DecoderRules } from '../core/decoders/rules';
import type { Event } from '../core/base/lifecycle';
import type { CaptureSession } from '../core/sessions/session';
import { spyDetailsOf } from '../core/sessions/spy';

/** What the controller needs from the place it runs in. Optional parts are features the host may not offer. */
export interface ViewerHost {
  post(message: FromHost): void;
  /** Asks where to save, writes `text`; returns the path written, undefined when cancelled. */
  save?(suggestedName: string, records: CaptureRecord[], totals: ExportTotals): Promise<string | undefined>;
  /** Asks for a capture file; returns its name and text, undefined when cancelled. */
  open?(): Promise<{ name: string; text: string } | undefined>;
  copy?(text: string): Promise<void>;
  /** Binding a socket needs a trusted workspace. */
  isTrusted?(): boolean;
  log?(line: string): void;
}

/**
 * A full rescan (new filter, import, clear) runs in slices of at most
 * `sliceMs`, yielding to the event loop in between (the extension host is
 * shared with every other extension and must not stall on a million records),
 * `chunk` records at a time, and posts its progress every `progressMs`.
 */
const RESCAN = { sliceMs: 20, progressMs: 100, chunk: 20_000 } as const;

/**
 * Above `recordsPerS` new rows a second the view's rows are scanned every
 * `intervalMs` instead of every intervalMs option (8 a second, not 60: often
 * enough that a window of 100,000 loses no row to eviction before it was
 * scanned below 800,000 msg/s) and posted `postsPerS` times a second (the
 * first scan in each third of a second), for `holdMs` after the flood was last
 * seen, both on the wall clock's grid (so a post comes on each second, with the
 * once-a-second views). Each post is a frame of the whole workbench in
 * Chromium's renderer, whatever it changes (the counters alone cost as much as
 * the rows): at 8 posts a second that was ~0.2 of a core during a flood, taken
 * on a 2-core machine from the publisher's I/O thread; 3 rather than 4 took
 * another ~0.02 off it (docs/performance.md, issue 27).
 */
const FLOOD = { recordsPerS: 5000, intervalMs: 125, postsPerS: 3, holdMs: 1000 } as const;

/** The flood's post slot `t` (ms since the epoch) falls in: a post per slot. */
const floodPostSlot = (t: number) => Math.floor((t * FLOOD.postsPerS) / 1000);

export interface ControllerOptions {
  filter?: FrameFilter;
  /** Minimum time between two batches (default 16 ms, about 60 per second). */
  intervalMs?: number;
  sender?: Sender;
  /** Which decoders read which messages (e.g. from the zmqDebugger.decoders setting); the viewer's picker edits them. */
  decoderRules?: DecoderRuleSpec[];
  /** Which spies are falling behind now (the counters carry it, the view shows a banner), and when that changes. */
  behind?: BehindSource;
}

export interface BehindSource {
  current(): FallingBehind | undefined;
  onDidChange: Event<void>;
}

/** The falling-behind state of a session manager's spies, for the viewer. */
export function behindOfSessions(sessions: { list(): CaptureSession[]; onDidChange: Event<void> }): BehindSource {
  return {
    current() {
      let out: FallingBehind | undefined;
      for (const s of sessions.list()) {
        const b = spyDetailsOf(s)?.behind;
        if (!b) continue;
        if (!out) out = { sessions: [], since: b.since };
        out.sessions.push(s.id);
        out.since = Math.min(out.since, b.since);
        if (b.backlogBytes !== undefined) out.backlogBytes = (out.backlogBytes ?? 0) + b.backlogBytes;
      }
      return out;
    },
    onDidChange: sessions.onDidChange,
  };
}

/** The timeline chart gets at most this many updates per second. */
const TIMELINE_INTERVAL_MS = 250;

export class FramesViewController implements Disposable {
  readonly query: FramesQuery;
  private readonly disposables = new DisposableStore();
  private live: Capture;
  private source: Capture;
  private sourceName = 'live';
  private paused = false;
  private visible = true;
  private ready = false;
  private dirty = false;
  private needsReset = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private continuation: ReturnType<typeof setImmediate> | undefined;
  /** Records left to scan (a rescan in progress). */
  private pendingScan = 0;
  /** Rows a rescan added in slices that posted nothing (told with the next post). */
  private carriedAdded = 0;
  /** The next post is a rescan's (its progress or its end): posted at once, not counted as a flood. */
  private rescanPost = false;
  /** While paused: the newest seq the view may show. */
  private frozenAt = Infinity;
  private lastFlush = 0;
  private lastPosted = 0;
  /** Until when batches go at the flood rate (see FLOOD.recordsPerS). */
  private floodUntil = 0;
  private window = { start: 0, count: 50, follow: true };
  private filterError: string | undefined;
  private readonly intervalMs: number;
  private readonly sender: Sender;
  private decoderSpecs: DecoderRuleSpec[] = [];
  private timelineVisible = false;
  private lastTimeline = 0;
  private behindSource: BehindSource | undefined;
  private lastBehind = 'null';
  /** Batches posted (the benchmark and tests read it). */
  batches = 0;

  constructor(
    capture: Capture,
    private readonly host: ViewerHost,
    options: ControllerOptions = {},
  ) {
    this.live = this.source = capture;
    this.query = new FramesQuery(capture);
    this.intervalMs = options.intervalMs ?? 16;
    this.sender = this.disposables.add(options.sender ?? new Sender());
    if (options.decoderRules) this.buildDecoders(options.decoderRules);
    if (options.filter) this.applyFilter(options.filter);
    this.behindSource = options.behind;
    if (options.behind) {
      // a spy fell behind or caught up: the counters tell at once (while messages flow the batches carry them anyway)
      this.disposables.add(
        options.behind.onDidChange(() => {
          const now = JSON.stringify(options.behind!.current() ?? null);
          if (now === this.lastBehind) return;
          this.lastBehind = now;
          if (this.ready && this.visible) this.post({ type: 'counters', counters: this.counters() });
        }),
      );
    }
    this.disposables.add(capture.onDidAppend(() => this.markDirty()));
    this.disposables.add(
      capture.onDidClear(() => {
        if (this.source === capture) this.markReset();
      }),
    );
    this.disposables.add({
      dispose: () => {
        clearTimeout(this.timer);
        if (this.continuation) clearImmediate(this.continuation);
      },
    });
  }

  get filter(): FrameFilter {
    return this.query.filter;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** True once the webview said `ready` (and so receives batches). */
  get isReady(): boolean {
    return this.ready;
  }

  /** Sets the filter from the host side (e.g. "open the frames of session spy-1"); the view follows. */
  setFilter(filter: FrameFilter): void {
    if (this.applyFilter(filter)) this.scan();
    this.postReset(true);
  }

  get decoderRules(): DecoderRuleSpec[] {
    return this.decoderSpecs.map((r) => ({ ...r }));
  }

  /**
   * Replaces the decoder rules (e.g. when the zmqDebugger.decoders setting
   * changes) and rescans. Returns the problems (a bad spec, a missing .proto
   * file), also shown in the viewer; the rules that work apply.
   */
  setDecoderRules(specs: DecoderRuleSpec[]): string[] {
    const problems = this.buildDecoders(specs);
    this.scan();
    this.postDecoders();
    this.postReset();
    for (const p of problems) this.notice('error', p);
    return problems;
  }

  private buildDecoders(specs: DecoderRuleSpec[]): string[] {
    const problems: string[] = [];
    const rules: DecoderRule[] = [];
    const kept: DecoderRuleSpec[] = [];
    for (const spec of specs) {
      try {
        if (spec.topicPrefix !== undefined) parseTopic(spec.topicPrefix); // a bad hex: prefix is this rule's problem
        rules.push({ ...spec, decoder: createDecoder(spec.spec) });
        kept.push({ ...spec });
      } catch (e) {
        problems.push(`Decoder '${spec.spec}': ${(e as Error).message}`);
      }
    }
    this.decoderSpecs = kept;
    try {
      this.query.setDecoders(rules.length ? new DecoderRules(rules) : undefined, false);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      this.filterError = e.message;
    }
    return problems;
  }

  private postDecoders(): void {
    if (this.ready) this.post({ type: 'decoders', rules: this.decoderRules, available: decoderUsages() });
  }

  /** The panel became visible or hidden. Hidden panels get nothing; shown ones catch up at once. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible) this.flush();
  }

  counters(): Counters {
    const s = this.source.stats();
    const behind = this.behindSource?.current();
    return {
      received: s.totalMessages,
      records: s.total,
      retained: s.retained,
      shown: this.query.shown,
      evicted: s.evicted,
      dropped: s.dropped,
      rate: s.rate,
      paused: this.paused,
      scanning: this.pendingScan,
      source: this.sourceName,
      sessions: this.source.sessionIds().sort(),
      socketTypes: this.query.socketTypes,
      processes: this.query.processes,
      sockets: this.query.sockets,
      // the live capture's spies; an import is what it is
      ...(behind && this.source === this.live ? { behind } : {}),
    };
  }

  /** Handles one message from the webview (validated here: anything malformed is reported, not used). */
  handle(raw: unknown): void {
    let m: FromWebview;
    try {
      m = parseFromWebview(raw);
    } catch (e) {
      const text = `Ignored a malformed message from the frames viewer: ${(e as Error).message}`;
      this.host.log?.(text);
      if (e instanceof ProtocolError) return;
      throw e;
    }
    void this.dispatch(m).catch((e) => this.notice('error', (e as Error).message));
  }

  private async dispatch(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        if (!m.filter || !this.applyFilter(m.filter)) this.query.reset(false);
        this.scan();
        this.postReset(true);
        this.postDecoders();
        return;
      case 'view/window':
        this.window = { start: m.start, count: m.count, follow: m.follow };
        this.postWindow(0);
        return;
      case 'filter/changed':
        if (this.applyFilter(m.filter)) this.scan();
        this.postReset();
        return;
      case 'row/select': {
        const detail = this.query.detail(m.seq);
        this.post(detail ? { type: 'frame/detail', seq: m.seq, detail } : { type: 'frame/detail', seq: m.seq, missing: `Record #${m.seq} is no longer in the capture (evicted or cleared).` });
        return;
      }
      case 'capture/setPaused':
        if (m.paused === this.paused) return;
        this.paused = m.paused;
        this.frozenAt = m.paused ? this.source.stats().lastSeq : Infinity;
        if (m.paused) {
          this.post({ type: 'counters', counters: this.counters() });
          return;
        }
        // resuming shows everything that arrived meanwhile
        this.scan();
        this.postReset();
        return;
      case 'capture/clear':
        // clearing the live capture clears it for every view; an import is just dropped
        if (this.source === this.live) this.live.clear();
        else this.switchSource(this.live, 'live');
        return;
      case 'frame/copy': {
        const text = this.query.frameAs(m.seq, m.index, m.as);
        if (!this.host.copy) throw new Error('Copying is not available here');
        await this.host.copy(text);
        this.notice('info', `Copied frame ${m.index} of #${m.seq} as ${m.as} (${text.length} characters)`);
        return;
      }
      case 'export/request':
        await this.exportRecords(m.scope);
        return;
      case 'import/request':
        await this.importCapture();
        return;
      case 'source/live':
        this.switchSource(this.live, 'live');
        return;
      case 'send/request':
        await this.send(m);
        return;
      case 'decoder/set': {
        const scopeOf = (r: DecoderRuleSpec) => (r.topicPrefix !== undefined ? `topic ${r.topicPrefix}` : r.session !== undefined ? `session ${r.session}` : r.endpoint !== undefined ? `endpoint ${r.endpoint}` : 'all');
        const key = m.scope === 'all' ? 'all' : `${m.scope} ${m.match}`;
        const next = this.decoderSpecs.filter((r) => scopeOf(r) !== key);
        if (m.spec.trim()) {
          const rule: DecoderRuleSpec = { spec: m.spec.trim() };
          if (m.scope === 'session') rule.session = m.match;
          if (m.scope === 'topic') rule.topicPrefix = m.match;
          next.push(rule);
        }
        this.setDecoderRules(next);
        return;
      }
      case 'timeline/visible':
        this.timelineVisible = m.visible;
        if (m.visible) this.postTimeline(true);
        return;
      default:
        assertNever(m);
    }
  }

  /** Sets the filter (the rescan is left to `scan()`); false when it is invalid. */
  private applyFilter(filter: FrameFilter): boolean {
    try {
      this.query.setFilter(filter, false);
      this.filterError = undefined;
      return true;
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      // keep showing what the previous filter showed, and say why
      this.filterError = e.message;
      return false;
    }
  }

  /**
   * Scans new records for up to RESCAN.sliceMs (up to `frozenAt` while paused);
   * when some are left, continues on the next turn of the event loop.
   */
  private scan(): number {
    const started = Date.now();
    let added = 0;
    let r: UpdateResult;
    do {
      r = this.query.update(RESCAN.chunk, this.frozenAt);
      added += r.added;
    } while (r.pending > 0 && Date.now() - started < RESCAN.sliceMs);
    this.pendingScan = r.pending;
    if (r.pending > 0 && !this.continuation) {
      this.continuation = setImmediate(() => {
        this.continuation = undefined;
        // a long rescan posts its progress every RESCAN.progressMs, not after every slice:
        // each post costs the host (rows to summarise, a message to serialise) and the page a render
        if (this.visible && this.ready && Date.now() - this.lastFlush < RESCAN.progressMs) {
          this.carriedAdded += this.scan();
          if (this.pendingScan > 0) return;
          // done: the last slice is posted at once
        }
        this.dirty = true;
        this.rescanPost = true;
        this.flush();
      });
    }
    return added;
  }

  private markDirty(): void {
    this.dirty = true;
    this.schedule();
  }

  private markReset(): void {
    this.needsReset = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    const now = Date.now();
    const flooded = now < this.floodUntil;
    const interval = flooded ? Math.max(this.intervalMs, FLOOD.intervalMs) : this.intervalMs;
    // flooded: on the wall clock's grid of the interval, so that a post (the first scan in each third of a
    // second) lands on each second, where the status bar and the Sessions view refresh once a second: one
    // repaint of the workbench for all of them, not one each (the next grid point after the last scan, not an
    // interval after it, which a timer's few ms late would push past the next point)
    const due = flooded ? (Math.floor(this.lastFlush / interval) + 1) * interval : this.lastFlush + interval;
    const wait = Math.max(0, due - now);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  /** Sends what changed since the last batch (nothing while hidden or before `ready`). */
  flush(): void {
    if (!this.visible || !this.ready) return;
    this.lastFlush = Date.now();
    if (this.needsReset) {
      this.needsReset = this.dirty = false;
      this.query.reset(false);
      this.scan();
      this.postReset();
      return;
    }
    if (!this.dirty) return;
    this.dirty = false;
    if (this.paused && this.pendingScan === 0) {
      this.post({ type: 'counters', counters: this.counters() });
      return;
    }
    const added = this.scan();
    const now = Date.now();
    // (a rescan's progress and its answer are the user's filter: never held back)
    if (!this.rescanPost && now < this.floodUntil && floodPostSlot(now) === floodPostSlot(this.lastPosted)) {
      // flooded: scanned now (before eviction), told with the next post, which comes even if nothing more arrives
      this.carriedAdded += added;
      this.dirty = true;
      this.schedule();
      return;
    }
    this.postWindow(added);
  }

  private windowRows(): { start: number; rows: RowSummary[] } {
    const w = this.window;
    if (w.follow) return this.query.tail(w.count);
    // keep the view's position when old rows left the head
    const start = Math.max(w.start, this.query.base);
    return this.query.rows(start, w.count);
  }

  private postWindow(added: number): void {
    if (!this.visible || !this.ready) return;
    added += this.carriedAdded;
    this.carriedAdded = 0;
    // a flood: rows scroll past faster than anyone reads them, so fewer batches
    // show the same; the page's renders would otherwise take the CPU the spy and
    // the program under debug need (npm run bench: spy_in_host_*)
    const now = Date.now();
    // a rescan's rows are not a flood of new messages
    if (!this.rescanPost && added * 1000 >= FLOOD.recordsPerS * Math.max(this.intervalMs, now - this.lastPosted)) this.floodUntil = now + FLOOD.holdMs;
    this.rescanPost = false;
    this.lastPosted = now;
    const { start, rows } = this.windowRows();
    this.post({ type: 'frames/appended', counters: this.counters(), base: this.query.base, start, rows, added });
    this.postTimeline(false);
  }

  /** The timeline's series, while the chart is shown, at most every TIMELINE_INTERVAL_MS (unless `now`). */
  private postTimeline(now: boolean): void {
    if (!this.timelineVisible || !this.visible || !this.ready) return;
    const t = Date.now();
    if (!now && t - this.lastTimeline < TIMELINE_INTERVAL_MS) return;
    this.lastTimeline = t;
    this.post({ type: 'timeline', series: this.query.timeline.series() });
  }

  private postReset(filterFromHost = false): void {
    if (!this.visible || !this.ready) return;
    // a batch like any other: a rescan's first progress comes RESCAN.progressMs after it, not a slice later
    this.lastFlush = Date.now();
    this.dirty = false;
    this.carriedAdded = 0;
    const { start, rows } = this.windowRows();
    const m: FromHost = { type: 'frames/reset', counters: this.counters(), filter: this.query.filter, base: this.query.base, start, rows };
    if (this.filterError) m.filterError = this.filterError;
    if (filterFromHost) m.filterFromHost = true;
    this.post(m);
    this.postTimeline(true);
  }

  private post(m: FromHost): void {
    this.batches++;
    this.host.post(m);
  }

  private notice(level: 'info' | 'error', text: string): void {
    this.host.log?.(`[frames viewer] ${level}: ${text}`);
    this.post({ type: 'notice', level, text });
  }

  private switchSource(capture: Capture, name: string): void {
    if (this.source !== this.live && this.source !== capture) this.source.dispose();
    this.source = capture;
    this.sourceName = name;
    this.frozenAt = this.paused ? capture.stats().lastSeq : Infinity;
    this.query.setCapture(capture, false);
    this.scan();
    this.postReset();
  }

  private async exportRecords(scope: 'all' | 'filtered'): Promise<void> {
    if (!this.host.save) throw new Error('Exporting is not available here');
    // the filtered export holds every match: finish a rescan still in progress first
    if (scope === 'filtered' && this.pendingScan > 0) this.pendingScan = this.query.update(Infinity, this.frozenAt).pending;
    const records: Iterable<CaptureRecord> = scope === 'all' ? this.source.records() : this.query.matching();
    const s = this.source.stats();
    // a snapshot: live sessions keep appending while the file is written (held records never change bytes)
    const snapshot = [...records];
    const n = snapshot.length;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const path = await this.host.save(`zmq-capture-${stamp}${scope === 'filtered' ? '-filtered' : ''}.jsonl`, snapshot, { evicted: s.evicted, evictedBytes: s.evictedBytes, dropped: s.dropped });
    if (path) this.notice('info', `Exported ${n} record${n === 1 ? '' : 's'} to ${path}`);
  }

  private async importCapture(): Promise<void> {
    if (!this.host.open) throw new Error('Importing is not available here');
    const file = await this.host.open();
    if (!file) return;
    this.showImported(basename(file.name), parseJsonLines(file.text));
  }

  /**
   * Shows an imported file as this view's source: its own capture, apart from
   * the live one (which keeps capturing, untouched); "live" switches back.
   * The one meaning of Import, for the viewer's button and the command alike.
   */
  showImported(name: string, result: ImportResult): void {
    const imported = new Capture({ maxRecords: Math.max(1, result.records.length), maxBytes: Number.MAX_SAFE_INTEGER });
    for (const r of result.records) imported.append(r);
    this.switchSource(imported, name);
    const badLines = badLineCount(result);
    const bad = badLines
      ? `; ${badLines} bad line${badLines === 1 ? '' : 's'} (${result.errors
          .slice(0, 5)
          .map((e) => `line ${e.line}: ${e.message}`)
          .join('; ')}${result.errors.length > 5 ? '; …' : ''})`
      : '';
    const summary = result.summary ? `; the exporting capture had evicted ${result.summary.evicted} and lost ${result.summary.dropped}` : '';
    this.notice(result.errors.length ? 'error' : 'info', `Imported ${result.records.length} records from ${name}${bad}${summary}`);
  }

  /** The name of what the view shows: 'live', or the imported file's name. */
  get sourceLabel(): string {
    return this.sourceName;
  }

  private async send(m: Extract<FromWebview, { type: 'send/request' }>): Promise<void> {
    const reply = (ok: boolean, message: string, frames?: Uint8Array[]) =>
      this.post({ type: 'send/result', id: m.id, ok, message, ...(frames ? { reply: frameDetails(frames) } : {}) });
    try {
      if (m.mode === 'bind' && this.host.isTrusted && !this.host.isTrusted()) {
        throw new SendError('Binding a socket needs a trusted workspace (Manage Workspace Trust); connect instead, or trust this workspace');
      }
      let frames: Uint8Array[];
      if (m.replaySeq !== undefined) {
        const r = this.source.get(m.replaySeq);
        if (!r) throw new SendError(`Message #${m.replaySeq} is no longer in the capture`);
        if (r.kind !== 'message') throw new SendError(`Record #${m.replaySeq} is a ${r.kind}; only messages can be replayed`);
        // the sending socket adds its own envelope: replay the body
        frames = r.frames.slice(r.envelopeFrames ?? 0);
      } else frames = encodeFrames(m.frames);
      const result = await this.sender.send({ socketType: m.socketType, mode: m.mode, endpoint: m.endpoint, frames });
      reply(true, result.message, result.reply);
    } catch (e) {
      reply(false, (e as Error).message);
    }
  }

  dispose(): void {
    if (this.source !== this.live) this.source.dispose();
    this.disposables.dispose();
  }
}

