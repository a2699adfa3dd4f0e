/**
 * The frames viewer page's one state object: what VS Code keeps with the panel
 * (filter, composer, timeline), what the page knows of the rows (the window
 * the host sent, the scroll position, the selection) and the pending timers.
 * Every module of the page reads and writes it; none keeps state of its own.
 */
import { ComposerFrame, Counters, DEFAULT_FILTER, FrameFilter, FromWebview, RecordDetail, RowSummary, SendMode, SendSocketType } from '../shared/protocol/frames';
import type { TimelineChart } from './timelineChart';
import { vsCodeApi } from './vscodeApi';

export interface ComposerState {
  socketType: SendSocketType;
  mode: SendMode;
  endpoint: string;
  frames: ComposerFrame[];
  open: boolean;
}

/** Kept by VS Code with the panel (getState/setState). */
export interface PersistedState {
  filter: FrameFilter;
  composer: ComposerState;
  timelineOpen: boolean;
}

export interface ViewerState {
  persisted: PersistedState;
  /** The panel had a saved state (else the host's filter applies). */
  restored: boolean;
  counters: Counters | undefined;
  /** Absolute row numbers: rows [base, base + shown) match; `cache` holds those the host sent. */
  base: number;
  shown: number;
  cache: Map<number, RowSummary>;
  /** Pinned to the newest rows; else `topRow` is the absolute row at the top of the viewport. */
  follow: boolean;
  topRow: number;
  /** Rows that arrived while not following (the "new ↓" pill). */
  newCount: number;
  selectedSeq: number | undefined;
  selectedRow: number | undefined;
  selectedRecord: RecordDetail | undefined;
  /** The window of rows last asked of the host, and when. */
  lastWindowKey: string;
  lastWindowAt: number;
  renderScheduled: boolean;
  /** Where render() left the viewport's scrollTop; a scroll event there is ours. */
  ownScrollTop: number;
  /** The id of the last send request (its result is the one shown). */
  sendId: number;
  filterTimer: ReturnType<typeof setTimeout> | undefined;
  chart: TimelineChart | undefined;
}

/** The state and the two ways out of the page: to the host, and to the panel's saved state. */
export interface Viewer {
  state: ViewerState;
  post(m: FromWebview): void;
  persist(): void;
}

export function createViewer(): Viewer {
  const vscode = vsCodeApi<PersistedState, FromWebview>();
  const saved = vscode.getState();
  // saved by an older version, a state may lack fields: defaults fill them in
  const persisted: PersistedState = {
    filter: { ...DEFAULT_FILTER, kinds: [...DEFAULT_FILTER.kinds], ...saved?.filter },
    composer: { socketType: 'PUSH', mode: 'connect', endpoint: 'tcp://127.0.0.1:5557', frames: [{ format: 'text', value: 'hello' }], open: false, ...saved?.composer },
    timelineOpen: saved?.timelineOpen ?? false,
  };
  const state: ViewerState = {
    persisted,
    restored: saved !== undefined,
    counters: undefined,
    base: 0,
    shown: 0,
    cache: new Map(),
    follow: true,
    topRow: 0,
    newCount: 0,
    selectedSeq: undefined,
    selectedRow: undefined,
    selectedRecord: undefined,
    lastWindowKey: '',
    lastWindowAt: 0,
    renderScheduled: false,
    ownScrollTop: -1,
    sendId: 0,
    filterTimer: undefined,
    chart: undefined,
  };
  return { state, post: (m) => vscode.postMessage(m), persist: () => vscode.setState(persisted) };
}
