/**
 * The topology map panel: dist/webview/topologyMap.js on the webview host. It
 * draws what it is given (`update`), selects a node on request (`reveal`, kept
 * until the page is ready), and hands the page's requests back to its owner.
 * The page is kept alive while hidden so its layout survives.
 */
import * as vscode from 'vscode';
import { MapGraph, parseFromMap, ToMap } from '../../shared/protocol/topology';
import { WebviewHost } from './webviewHost';

export const TOPOLOGY_VIEW_TYPE = 'zmqDebugger.topology';

export interface TopologyMapEvents {
  /** The page is ready, or became visible again: it wants the current graph. */
  wantsGraph(): void;
  select(target: 'node' | 'edge', id: string, openFrames: boolean): void;
  setShowCode(showCode: boolean): void;
}

export class TopologyMapPanel extends WebviewHost {
  private pendingReveal: string | undefined;
  /** The last graph sent (tests read it). */
  lastGraph: ToMap | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly events: TopologyMapEvents,
    log?: vscode.LogOutputChannel,
  ) {
    super(extensionUri, { viewType: TOPOLOGY_VIEW_TYPE, title: 'ZeroMQ Topology', bundle: 'topologyMap.js', stylesheet: 'topologyMap.css', retainContextWhenHidden: true }, log);
  }

  update(graph: MapGraph): void {
    this.lastGraph = { type: 'topology/update', graph };
    this.post(this.lastGraph);
  }

  /** Selects a node; a page that is still loading selects it once it is ready and has its graph. */
  reveal(id: string): void {
    if (!this.post({ type: 'topology/reveal', id } satisfies ToMap)) this.pendingReveal = id;
  }

  protected attached(): void {
    this.pendingReveal = undefined;
  }

  protected received(raw: unknown): void {
    let m;
    try {
      m = parseFromMap(raw);
    } catch (e) {
      this.log?.warn(`topology map: ignoring a message (${(e as Error).message})`);
      return;
    }
    switch (m.type) {
      case 'ready':
        this.events.wantsGraph();
        if (this.pendingReveal) this.post({ type: 'topology/reveal', id: this.pendingReveal } satisfies ToMap);
        this.pendingReveal = undefined;
        break;
      case 'select':
      case 'openFrames':
        this.events.select(m.target, m.id, m.type === 'openFrames');
        break;
      case 'setShowCode':
        this.events.setShowCode(m.showCode);
        break;
      default: {
        const never: never = m;
        void never;
      }
    }
  }

  // a page rebuilt while hidden lost what it was posted: it asks again with `ready`
  protected override visibilityChanged(visible: boolean): void {
    if (visible && this.ready) this.events.wantsGraph();
  }
}
