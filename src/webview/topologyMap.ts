/**
 * The topology map: a live graph of sockets, endpoints and connections drawn
 * with Cytoscape.js (bundled; no network). Positions stay put while only rates
 * change; the layout runs again when nodes or edges come or go. Selecting a
 * node or an edge tells the host, which filters the frames viewer to it. The
 * doctor's findings colour the nodes' borders and are listed in the details pane.
 *
 * Every text from the host goes in with textContent or as a canvas label:
 * nothing is parsed as HTML.
 */
import cytoscape from 'cytoscape';
import { FromMap, MapEdge, MapGraph, MapNode, parseToMap } from '../shared/protocol/topology';
import { button, h, setText } from './dom';
import { latencyBrief, latencyHistogramLines, latencySummary } from '../shared/latencyText';
import { vsCodeApi } from './vscodeApi';

interface SavedState {
  selected?: { target: 'node' | 'edge'; id: string };
}

const vscode = vsCodeApi<SavedState, FromMap>();
const state: SavedState = vscode.getState() ?? {};

const summary = h('span', { class: 'summary', id: 'summary' }, 'Waiting for the topology…');
const graphEl = h('div', { id: 'graph' });
const details = h('div', { id: 'details', class: 'details' });
const EMPTY_TEXT = 'Nothing observed yet. Start a spy or a tap, or run an example.';
const empty = h('div', { id: 'empty', class: 'empty hidden' }, EMPTY_TEXT);
const codeToggle = button('Show code', 'Also draw the endpoints known only from the workspace\'s code', () => {
  vscode.postMessage({ type: 'setShowCode', showCode: !codeShown });
});
let codeShown = false;
const toolbar = h(
  'div',
  { class: 'toolbar' },
  summary,
  h('span', { class: 'spacer' }),
  codeToggle,
  button('Fit', 'Fit the whole graph in view', () => cy.fit(undefined, 30)),
  button('Relayout', 'Lay the graph out again', () => layout()),
);
document.getElementById('app')!.append(toolbar, h('div', { class: 'main' }, graphEl, empty, details));

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

function theme() {
  return {
    fg: cssVar('--vscode-editor-foreground', '#cccccc'),
    bg: cssVar('--vscode-editor-background', '#1e1e1e'),
    muted: cssVar('--vscode-descriptionForeground', '#999999'),
    blue: cssVar('--vscode-charts-blue', '#3794ff'),
    green: cssVar('--vscode-charts-green', '#89d185'),
    purple: cssVar('--vscode-charts-purple', '#b180d7'),
    orange: cssVar('--vscode-charts-orange', '#d18616'),
    error: cssVar('--vscode-errorForeground', '#f48771'),
    warning: cssVar('--vscode-editorWarning-foreground', '#cca700'),
    info: cssVar('--vscode-editorInfo-foreground', '#3794ff'),
    focus: cssVar('--vscode-focusBorder', '#007fd4'),
    font: cssVar('--vscode-font-family', 'sans-serif'),
  };
}

function styles(): cytoscape.StylesheetJson {
  const t = theme();
  return [
    {
      selector: 'node',
      style: {
        label: 'data(display)',
        'font-family': t.font,
        'font-size': 11,
        color: t.fg,
        'text-valign': 'bottom',
        'text-margin-y': 4,
        'text-wrap': 'wrap',
        'text-max-width': '180px',
        'background-color': t.blue,
        'border-width': 1,
        'border-color': t.muted,
        width: 28,
        height: 28,
      },
    },
    { selector: 'node[kind = "endpoint"]', style: { shape: 'round-rectangle', width: 40, 'background-color': t.blue } },
    { selector: 'node[kind = "peer"]', style: { shape: 'ellipse', 'background-color': t.green } },
    { selector: 'node[kind = "spy"]', style: { shape: 'diamond', 'background-color': t.purple } },
    { selector: 'node[kind = "process"]', style: { shape: 'rectangle', 'background-color': t.orange } },
    { selector: 'node[kind = "socket"]', style: { shape: 'round-rectangle', width: 34, height: 22, 'background-color': t.blue } },
    // a program under the agent: a group around its sockets, its name on top
    {
      selector: 'node[kind = "process"]:parent',
      style: {
        shape: 'round-rectangle',
        'background-color': t.orange,
        'background-opacity': 0.08,
        'border-color': t.orange,
        'border-width': 1,
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -4,
        'font-weight': 'bold',
        padding: '14px',
      },
    },
    { selector: 'node[kind = "code"]', style: { shape: 'tag', 'background-color': t.muted, width: 22, height: 22 } },
    { selector: 'node[?codeOnly]', style: { 'background-opacity': 0.35, 'border-style': 'dashed', 'border-width': 1, 'text-max-width': '170px', 'font-size': 10 } },
    { selector: 'node[severity = "info"]', style: { 'border-width': 3, 'border-color': t.info } },
    { selector: 'node[severity = "warning"]', style: { 'border-width': 4, 'border-color': t.warning } },
    { selector: 'node[severity = "error"]', style: { 'border-width': 4, 'border-color': t.error } },
    {
      selector: 'edge',
      style: {
        width: 2,
        'curve-style': 'bezier',
        'line-color': t.muted,
        'target-arrow-color': t.muted,
        'source-arrow-color': t.muted,
        'target-arrow-shape': 'triangle',
        label: 'data(label)',
        'font-family': t.font,
        'font-size': 10,
        color: t.fg,
        'text-background-color': t.bg,
        'text-background-opacity': 0.85,
        'text-background-padding': '2px',
        'text-rotation': 'autorotate',
        'text-wrap': 'wrap',
      },
    },
    { selector: 'edge[?both]', style: { 'source-arrow-shape': 'triangle' } },
    { selector: 'edge[state = "declared"]', style: { 'line-style': 'dashed', width: 1 } },
    { selector: 'edge[state = "retrying"]', style: { 'line-style': 'dotted', 'line-color': t.warning, 'target-arrow-color': t.warning } },
    { selector: 'edge[state = "failed"], edge[severity = "error"]', style: { 'line-color': t.error, 'target-arrow-color': t.error, 'source-arrow-color': t.error } },
    { selector: 'edge[severity = "warning"]', style: { 'line-color': t.warning, 'target-arrow-color': t.warning, 'source-arrow-color': t.warning } },
    { selector: 'edge[kind = "tap"][state = "open"][rateText != ""], edge[kind = "agent"][state = "open"][rateText != ""]', style: { width: 3, 'line-color': t.green, 'target-arrow-color': t.green, 'source-arrow-color': t.green } },
    { selector: ':selected', style: { 'overlay-color': t.focus, 'overlay-opacity': 0.25, 'overlay-padding': 6 } },
  ];
}

// Cytoscape adds a <style> for `position: relative` on its container unless an
// element with this id exists; the CSP forbids inline styles and
// topologyMap.css already sets it, so mark it as present.
const marker = document.createElement('meta');
marker.id = '__________cytoscape_stylesheet';
document.head.append(marker);

const cy = cytoscape({
  container: graphEl,
  elements: [],
  style: styles(),
  wheelSensitivity: 0.3,
  minZoom: 0.2,
  maxZoom: 3,
  boxSelectionEnabled: false,
});

// theme switches change the body's class: restyle the canvas
new MutationObserver(() => cy.style(styles())).observe(document.body, { attributes: true, attributeFilter: ['class'] });

let graph: MapGraph = { nodes: [], edges: [], counts: { error: 0, warning: 0, info: 0 }, hiddenCodeNodes: 0, showCode: false };

function display(n: MapNode): string {
  const mark = n.severity === 'error' ? '✖ ' : n.severity === 'warning' ? '⚠ ' : n.severity === 'info' ? 'ℹ ' : '';
  return mark + n.label;
}

function layout(): void {
  // the live topology flows top-down; endpoints known only from code sit in a grid below it
  const codeOnly = cy.nodes('[?codeOnly]').filter((n) => n.connectedEdges().empty());
  const live = cy.elements().difference(codeOnly);
  const roots = live.nodes().filter((n) => n.indegree(false) === 0 && n.outdegree(false) > 0);
  if (live.nodes().nonempty() && cy.nodes(':parent').nonempty()) {
    // processes drawn as groups: a force layout keeps each program's sockets together
    live.layout({ name: 'cose', animate: false, fit: false, padding: 30, nodeDimensionsIncludeLabels: true, randomize: false, componentSpacing: 60, nodeRepulsion: () => 8000, idealEdgeLength: () => 90 } as cytoscape.LayoutOptions).run();
  } else if (live.nodes().nonempty()) {
    live.layout({
      name: 'breadthfirst',
      directed: true,
      roots: roots.length ? roots : undefined,
      spacingFactor: 1.3,
      padding: 30,
      animate: false,
      fit: false,
    } as cytoscape.LayoutOptions).run();
  }
  if (codeOnly.nonempty()) {
    const bb = live.nodes().nonempty() ? live.boundingBox() : { x1: 0, y2: 0, w: 800 };
    const cols = Math.max(1, Math.min(codeOnly.length, Math.floor(Math.max(bb.w, 700) / 190)));
    const rows = Math.ceil(codeOnly.length / cols);
    codeOnly.layout({
      name: 'grid',
      cols,
      avoidOverlap: true,
      boundingBox: { x1: bb.x1, y1: bb.y2 + 70, w: cols * 190, h: rows * 90 },
      animate: false,
      fit: false,
    } as cytoscape.LayoutOptions).run();
  }
  cy.fit(undefined, 30);
}

function update(next: MapGraph): void {
  graph = next;
  let structural = false;
  const want = new Set<string>([...next.nodes.map((n) => n.id), ...next.edges.map((e) => e.id)]);
  cy.batch(() => {
    cy.elements().forEach((el) => {
      if (!want.has(el.id())) {
        el.remove();
        structural = true;
      }
    });
    // groups (processes) before what they hold
    const ids = new Set(next.nodes.map((n) => n.id));
    const ordered = [...next.nodes.filter((n) => !n.parent), ...next.nodes.filter((n) => n.parent)];
    for (const n of ordered) {
      const parent = n.parent && ids.has(n.parent) && n.parent !== n.id ? n.parent : undefined;
      const data = { id: n.id, kind: n.kind, display: display(n), severity: n.severity ?? '', codeOnly: n.codeOnly === true, ...(parent ? { parent } : {}) };
      const el = cy.getElementById(n.id);
      if (el.empty()) {
        cy.add({ group: 'nodes', data });
        structural = true;
      } else {
        if ((el.data('parent') ?? undefined) !== parent) {
          el.move({ parent: parent ?? null });
          structural = true;
        }
        el.data(data);
      }
    }
    for (const e of next.edges) {
      const data = { id: e.id, source: e.from, target: e.to, both: e.both, kind: e.kind, state: e.state, rateText: e.rateText, label: edgeLabel(e), severity: e.severity ?? '' };
      const el = cy.getElementById(e.id);
      if (el.empty() || el.data('source') !== e.from || el.data('target') !== e.to) {
        if (!el.empty()) el.remove();
        cy.add({ group: 'edges', data });
        structural = true;
      } else el.data(data);
    }
  });
  if (structural) layout();
  const c = next.counts;
  const problems = c.error + c.warning + c.info;
  setText(
    summary,
    `${next.nodes.length} node${next.nodes.length === 1 ? '' : 's'} · ${next.edges.length} edge${next.edges.length === 1 ? '' : 's'} · ` +
      (problems ? `${c.error} error${c.error === 1 ? '' : 's'}, ${c.warning} warning${c.warning === 1 ? '' : 's'}, ${c.info} info` : 'no problems found'),
  );
  codeShown = next.showCode;
  setText(codeToggle, codeShown ? 'Hide code' : next.hiddenCodeNodes ? `Show code (${next.hiddenCodeNodes})` : 'Show code');
  codeToggle.classList.toggle('active', codeShown);
  setText(empty, next.hiddenCodeNodes ? `${EMPTY_TEXT} ${next.hiddenCodeNodes} endpoints found only in the workspace's code are hidden: Show code draws them.` : EMPTY_TEXT);
  empty.classList.toggle('hidden', next.nodes.length > 0);
  graphEl.classList.toggle('hidden', next.nodes.length === 0);
  if (state.selected) {
    const el = cy.getElementById(state.selected.id);
    if (!el.empty() && !el.selected()) el.select();
  }
  renderDetails();
}

/** An edge's label: its rates, and the request latency when it carries request/reply pairs. */
function edgeLabel(e: MapEdge): string {
  const l = e.latency ? latencyBrief(e.latency) : '';
  return e.rateText && l ? `${e.rateText}\n${l}` : e.rateText || l;
}

let detailsKey = '';

function renderDetails(): void {
  const sel = state.selected;
  const item: MapNode | MapEdge | undefined = sel
    ? sel.target === 'node'
      ? graph.nodes.find((n) => n.id === sel.id)
      : graph.edges.find((e) => e.id === sel.id)
    : undefined;
  // updates come every second: rebuild only what changed, and keep the keyboard focus where it was
  const key = JSON.stringify(item ? [sel, item] : graph.nodes.map((n) => [n.id, n.label, n.severity, n.detail]));
  if (key === detailsKey) return;
  detailsKey = key;
  const focused = details.contains(document.activeElement) ? (document.activeElement as HTMLElement).textContent : undefined;
  renderDetailsInto(sel, item);
  if (focused) {
    for (const b of details.querySelectorAll('button')) {
      if (b.textContent === focused) {
        b.focus();
        break;
      }
    }
  }
}

function renderDetailsInto(sel: SavedState['selected'], item: MapNode | MapEdge | undefined): void {
  details.replaceChildren();
  if (!sel || !item) {
    details.append(h('p', { class: 'hint' }, 'Select a node or a connection to see its details and filter the frames viewer to it.'));
    // the canvas is not reachable by keyboard or screen reader: the same nodes as a list, problems first
    const rank = (n: MapNode) => (n.severity === 'error' ? 0 : n.severity === 'warning' ? 1 : n.severity === 'info' ? 2 : 3);
    const list = h('ul', { class: 'node-list', attrs: { 'aria-label': 'Nodes' } });
    for (const n of [...graph.nodes].sort((a, b) => rank(a) - rank(b)).slice(0, 200)) {
      list.append(h('li', {}, button(display(n), n.detail ?? n.label, () => selectElement('node', n.id), `node-item ${n.severity ?? ''}`)));
    }
    if (graph.nodes.length) details.append(list);
    return;
  }
  if ('label' in item) {
    details.append(h('h3', {}, item.label));
    if (item.kind === 'socket' || item.kind === 'process') {
      const parent = item.parent ? graph.nodes.find((n) => n.id === item.parent) : undefined;
      if (parent) details.append(h('p', {}, button(`In ${parent.label}`, 'Select the program this socket belongs to', () => selectElement('node', parent.id))));
      const inside = graph.nodes.filter((n) => n.parent === item.id);
      if (inside.length) {
        const list = h('ul', { class: 'node-list', attrs: { 'aria-label': 'Sockets' } });
        for (const n of inside) list.append(h('li', {}, button(display(n), n.detail ?? n.label, () => selectElement('node', n.id), `node-item ${n.severity ?? ''}`)));
        details.append(h('p', { class: 'muted' }, `${inside.length} socket${inside.length > 1 ? 's' : ''}:`), list);
      }
    }
    if (item.detail) for (const line of item.detail.split('\n')) details.append(h('p', { class: 'muted' }, line));
    if (item.codeOnly) details.append(h('p', { class: 'muted' }, 'Found in code only: nothing live was seen at this endpoint.'));
  } else {
    const from = graph.nodes.find((n) => n.id === item.from)?.label ?? item.from;
    const to = graph.nodes.find((n) => n.id === item.to)?.label ?? item.to;
    details.append(h('h3', {}, `${from} ${item.both ? '⇄' : '→'} ${to}`));
    details.append(h('p', { class: 'muted' }, `${item.kind} connection, ${item.state}${item.rateText ? `, ${item.rateText}` : ''}`));
    if (item.subscriptions) {
      details.append(h('p', {}, 'Subscriptions: ' + (item.subscriptions.length ? item.subscriptions.map((s) => `"${s}"`).join(', ') : 'none')));
    }
    if (item.latency) {
      details.append(h('p', { class: 'latency' }, `Request latency: ${latencySummary(item.latency)}`));
      const bars = item.latency.histogram ? latencyHistogramLines(item.latency.histogram) : [];
      if (bars.length) details.append(h('pre', { class: 'latency-histogram', attrs: { 'aria-label': 'Round trips per latency bucket' } }, bars.join('\n')));
    }
  }
  if (item.lastActivity) details.append(h('p', { class: 'muted' }, `Last activity ${new Date(item.lastActivity).toLocaleTimeString()}`));
  if (item.problems.length) {
    const list = h('ul', { class: 'problems' });
    for (const p of item.problems) list.append(h('li', { class: item.severity ?? 'warning' }, p));
    details.append(list);
  }
  details.append(
    h(
      'div',
      { class: 'actions' },
      button('Show frames', 'Open the frames viewer filtered to this', () => vscode.postMessage({ type: 'openFrames', target: sel.target, id: sel.id }), 'primary'),
      button('All nodes', 'Back to the list of nodes', () => {
        state.selected = undefined;
        vscode.setState(state);
        cy.elements().unselect();
        renderDetails();
      }),
    ),
  );
}

function selectElement(target: 'node' | 'edge', id: string): void {
  state.selected = { target, id };
  vscode.setState(state);
  const el = cy.getElementById(id);
  if (!el.empty() && !el.selected()) {
    cy.elements().unselect();
    el.select();
  }
  renderDetails();
  vscode.postMessage({ type: 'select', target, id });
}

cy.on('tap', 'node, edge', (e) => selectElement(e.target.isNode() ? 'node' : 'edge', e.target.id() as string));
cy.on('tap', (e) => {
  if (e.target === cy) {
    state.selected = undefined;
    vscode.setState(state);
    renderDetails();
  }
});

window.addEventListener('message', (ev: MessageEvent) => {
  let m;
  try {
    m = parseToMap(ev.data);
  } catch {
    return; // not ours or malformed: ignore
  }
  switch (m.type) {
    case 'topology/update':
      update(m.graph);
      break;
    case 'topology/reveal': {
      const el = cy.getElementById(m.id);
      if (el.empty()) break;
      cy.elements().unselect();
      el.select();
      cy.animate({ center: { eles: el }, duration: 200 });
      state.selected = { target: el.isNode() ? 'node' : 'edge', id: m.id };
      vscode.setState(state);
      renderDetails();
      break;
    }
    default: {
      const never: never = m;
      void never;
    }
  }
});

renderDetails();
vscode.postMessage({ type: 'ready' });
