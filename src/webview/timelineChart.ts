/**
 * The timeline chart: msg/s and bytes/s over time (uPlot, bundled; it draws on
 * a canvas and styles through the CSSOM, so the page's nonce CSP needs no
 * 'unsafe-inline'). Dragging across it selects a time range: `onBrush` gets it
 * in epoch ms, and the chart clears its own selection (the filter shows it).
 */
import uPlot from 'uplot';
import type { TimelineSeries } from '../shared/protocol/frames';
import { formatBytes, formatCount } from '../shared/format';

export class TimelineChart {
  private plot: uPlot | undefined;
  private last: TimelineSeries | undefined;
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(
    private readonly el: HTMLElement,
    private readonly onBrush: (from: number, to: number) => void,
  ) {
    this.resize.observe(el);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(200, this.el.clientWidth - 8), height: 140 };
  }

  private create(): uPlot {
    const css = getComputedStyle(document.body);
    const fg = css.getPropertyValue('--vscode-foreground').trim() || '#ccc';
    const grid = css.getPropertyValue('--vscode-editorWidget-border').trim() || 'rgba(128,128,128,0.3)';
    const msgColor = css.getPropertyValue('--vscode-charts-blue').trim() || '#3794ff';
    const byteColor = css.getPropertyValue('--vscode-charts-orange').trim() || '#d18616';
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      ...this.size(),
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { show: true, live: true },
      scales: { x: { time: true }, msgs: { auto: true }, bytes: { auto: true } },
      axes: [
        { ...axis },
        { ...axis, scale: 'msgs', label: 'msg/s', values: (_u, vals) => vals.map((v) => formatCount(v)) },
        { ...axis, scale: 'bytes', side: 1, label: 'bytes/s', grid: { show: false }, values: (_u, vals) => vals.map((v) => formatBytes(v)) },
      ],
      series: [
        {},
        { label: 'msg/s', scale: 'msgs', stroke: msgColor, width: 1.5, value: (_u, v) => (v == null ? '–' : formatCount(Math.round(v))) },
        { label: 'bytes/s', scale: 'bytes', stroke: byteColor, width: 1, value: (_u, v) => (v == null ? '–' : `${formatBytes(v)}/s`) },
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            this.onBrush(Math.floor(from * 1000), Math.ceil(to * 1000));
          },
        ],
      },
    };
    return new uPlot(opts, [[], [], []], this.el);
  }

  update(s: TimelineSeries): void {
    this.last = s;
    this.plot ??= this.create();
    const xs = s.messages.map((_, i) => (s.start + i * s.bucketMs) / 1000);
    this.plot.setData([xs, s.messages, s.bytes]);
    this.el.dataset.points = String(xs.length);
    this.el.dataset.messages = String(Math.round(s.messages.reduce((a, b) => a + b, 0) * (s.bucketMs / 1000)));
  }

  private fit(): void {
    if (this.plot && this.el.clientWidth) this.plot.setSize(this.size());
  }

  get series(): TimelineSeries | undefined {
    return this.last;
  }

  dispose(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = undefined;
  }
}
