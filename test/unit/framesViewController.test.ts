/**
 * The viewer's host side: batches at display rate (never one post per message),
 * only the window the view shows, nothing while hidden (catch-up when shown),
 * counters only while paused, export/import through the host, send and replay
 * through real sockets to a pyzmq PULL, binding refused in an untrusted workspace.
 */
import * as assert from 'node:assert/strict';
import { mock } from 'node:test';
import { Capture } from '../../src/core/capture/capture';
import { parseJsonLines, toJsonLines } from '../../src/core/capture/exportFormat';
import { FramesViewController, ViewerHost } from '../../src/viewers/framesViewController';
import { DEFAULT_FILTER, FromHost } from '../../src/shared/protocol/frames';
import { ThrottledRefresh } from '../../src/extension/views/throttledRefresh';
import { freePort, killAllPython, runPython, until } from './helpers/peers';
import { spyMessage } from './helpers/records';

const msg = spyMessage;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('FramesViewController', function () {
  this.timeout(20000);
  let capture: Capture;
  let posted: FromHost[];
  let controller: FramesViewController;
  const open = (host: Partial<ViewerHost> = {}) => {
    controller = new FramesViewController(capture, { post: (m) => posted.push(m), ...host });
    controller.handle({ type: 'ready' });
    controller.handle({ type: 'view/window', start: 0, count: 30, follow: true });
    return controller;
  };
  const last = <T extends FromHost['type']>(type: T) => [...posted].reverse().find((m) => m.type === type) as Extract<FromHost, { type: T }>;

  beforeEach(() => {
    capture = new Capture({ maxRecords: 5000 });
    posted = [];
  });
  afterEach(async () => {
    controller?.dispose();
    capture.dispose();
    await killAllPython();
  });

  it('coalesces 20,000 messages over ~0.5 s into display-rate batches holding only the window', async () => {
    open();
    posted.length = 0;
    const started = Date.now();
    for (let tick = 0; tick < 50; tick++) {
      for (let i = 0; i < 400; i++) capture.append(msg(['t', `m${tick * 400 + i}`]));
      await sleep(10);
    }
    // the last batch of a flood comes within the flood's post interval (a third of a second)
    await sleep(400);
    const elapsed = (Date.now() - started) / 1000;
    const batches = posted.filter((m) => m.type === 'frames/appended') as Extract<FromHost, { type: 'frames/appended' }>[];
    assert.ok(batches.length <= Math.ceil(elapsed * 63) + 2, `${batches.length} batches in ${elapsed} s`);
    assert.ok(batches.every((b) => b.rows.length <= 30));
    const end = batches[batches.length - 1];
    assert.equal(end.counters.received, 20000);
    assert.equal(end.counters.evicted, 15000);
    assert.equal(end.counters.shown, 5000);
    assert.equal(end.base, 15000);
    assert.equal(end.rows[end.rows.length - 1].preview, 't | m19999');
    assert.equal(batches.reduce((n, b) => n + b.added, 0), 20000, 'every message was announced once');
  });

  it('slows to 3 batches a second in a flood (rows faster than anyone reads), and is back at display rate for a trickle', async () => {
    open();
    posted.length = 0;
    const appended = () => posted.filter((m) => m.type === 'frames/appended') as Extract<FromHost, { type: 'frames/appended' }>[];
    // a flood: 40,000 records a second for ~1.5 s
    let started = Date.now();
    for (let tick = 0; tick < 150; tick++) {
      for (let i = 0; i < 400; i++) capture.append(msg(['t', `f${tick}`]));
      await sleep(10);
    }
    let elapsed = (Date.now() - started) / 1000;
    const flood = appended().length;
    // at least a few a second (the view stays live), at most 3 (each is a frame of the whole workbench): 8 before issue 27, 60 without the flood rate;
    // and still every message announced once (scanned 8 times a second: none evicted from the 5,000 window unscanned)
    assert.ok(flood >= elapsed * 2 && flood <= elapsed * 3 + 2, `${flood} batches in ${elapsed} s of flood`);
    await sleep(1200);
    assert.equal(
      appended().reduce((n, b) => n + b.added, 0),
      60000,
      'every message was announced once',
    );
    // a trickle after the flood has passed: each record shows within a display frame or two
    posted.length = 0;
    started = Date.now();
    const lags: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = appended().length;
      const t = Date.now();
      capture.append(msg(['t', `slow${i}`]));
      while (appended().length === before && Date.now() - t < 500) await sleep(2);
      lags.push(Date.now() - t);
      await sleep(30);
    }
    elapsed = (Date.now() - started) / 1000;
    lags.sort((a, b) => a - b);
    assert.ok(lags[Math.floor(lags.length / 2)] <= 40, `median lag of a trickle's record ${lags[Math.floor(lags.length / 2)]} ms (${lags.join(', ')})`);
  });

  it('in a flood, 3 posts a second on the clock, one on each second with the once-a-second views (one repaint for all); every message announced once', async () => {
    // a mocked clock (setTimeout and Date), stepped 5 ms at a time: a timer fires on its due time exactly
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_010 });
    const turn = () => new Promise((r) => setImmediate(r)); // the capture tells its listeners on the next turn (real)
    const posts: number[] = [];
    const statusBar: number[] = [];
    const status = new ThrottledRefresh(() => statusBar.push(Date.now()), { intervalMs: 1000, aligned: true });
    try {
      open({ post: (m) => (posted.push(m), m.type === 'frames/appended' && posts.push(Date.now())) });
      posted.length = 0;
      posts.length = 0;
      // 20,000 messages a second for 3 s
      for (let step = 0; step < 600; step++) {
        for (let i = 0; i < 100; i++) capture.append(msg(['t', `f${step}`]));
        status.request();
        await turn();
        mock.timers.tick(5);
        await turn();
      }
      for (let step = 0; step < 300; step++) {
        mock.timers.tick(5);
        await turn();
      }
    } finally {
      status.dispose();
      mock.timers.reset();
    }
    const appended = posted.filter((m) => m.type === 'frames/appended') as Extract<FromHost, { type: 'frames/appended' }>[];
    assert.equal(
      appended.reduce((n, b) => n + b.added, 0),
      60000,
      'every message announced once',
    );
    assert.equal(appended.at(-1)!.counters.received, 60000, 'the last batch carries the exact count');
    // the first posts come at once (before the flood is seen); from then on, the first scan (on the 125 ms grid) in each third of a second
    const flood = posts.slice(2);
    const third = (t: number) => Math.floor((t * 3) / 1000);
    assert.ok(flood.length >= 6 && flood.length <= 11, `${posts.length} posts: ${posts.join(', ')}`);
    assert.deepEqual(
      flood.filter((t, i) => t % 125 !== 0 || third(t - 125) === third(t) || (i > 0 && third(flood[i - 1]) === third(t))),
      [],
      `posts at ${posts.join(', ')}`,
    );
    assert.ok(flood.filter((t) => t % 1000 === 0).length >= 2, `a post on each second: ${posts.join(', ')}`);
    // each refresh of a once-a-second view during the flood (after its first, at once) in the same instant as a post
    const during = statusBar.slice(1).filter((t) => t <= posts.at(-1)!);
    assert.ok(during.length >= 2, statusBar.join(', '));
    assert.deepEqual(
      during.filter((t) => !posts.includes(t)),
      [],
      `status bar at ${statusBar.join(', ')}, posts at ${posts.join(', ')}`,
    );
  });

  it('sends nothing while hidden and catches up when shown; paused sends counters only', async () => {
    open();
    controller.setVisible(false);
    posted.length = 0;
    for (let i = 0; i < 100; i++) capture.append(msg(['a']));
    await sleep(60);
    assert.equal(posted.length, 0);
    controller.setVisible(true);
    assert.equal(last('frames/appended').counters.shown, 100);
    controller.handle({ type: 'capture/setPaused', paused: true });
    posted.length = 0;
    for (let i = 0; i < 100; i++) capture.append(msg(['b']));
    await sleep(60);
    assert.deepEqual([...new Set(posted.map((m) => m.type))], ['counters']);
    assert.equal(last('counters').counters.received, 200);
    assert.equal(last('counters').counters.shown, 100);
    controller.handle({ type: 'capture/setPaused', paused: false });
    assert.equal(last('frames/reset').counters.shown, 200);
  });

  it("a restored view's filter (in ready) applies in the host; a host-set filter is flagged for the view", () => {
    for (let i = 0; i < 10; i++) capture.append(msg([i < 3 ? 'keep' : 'drop']));
    controller = new FramesViewController(capture, { post: (m) => posted.push(m) });
    controller.handle({ type: 'ready', filter: { ...DEFAULT_FILTER, topicPrefix: 'keep' } });
    assert.equal(last('frames/reset').counters.shown, 3);
    assert.equal(last('frames/reset').filter.topicPrefix, 'keep');
    controller.setFilter({ ...DEFAULT_FILTER, session: 'spy-9' });
    assert.equal(last('frames/reset').filterFromHost, true);
    assert.equal(last('frames/reset').counters.shown, 0);
    controller.handle({ type: 'filter/changed', filter: DEFAULT_FILTER });
    assert.equal(last('frames/reset').filterFromHost, undefined, "the view's own change is not echoed back into its inputs");
    assert.equal(last('frames/reset').counters.shown, 10);
  });

  it('rescans 1,000,000 records in slices that leave the event loop free, then shows them all', async () => {
    // enough that the regex's rescan takes several 20 ms slices however fast the machine scans
    // (300,000 fitted in one slice once the scan got faster: the test then failed for being fast)
    capture.setLimits({ maxRecords: 1_000_000 });
    for (let i = 0; i < 1_000_000; i++) capture.append(msg([i % 3 ? 'a' : 'b', String(i)]));
    open();
    const latest = () => [...posted].reverse().find((m) => 'counters' in m) as Extract<FromHost, { counters: unknown }> | undefined;
    await until(() => latest()?.counters.scanning === 0, 'the first scan');
    let longest = 0;
    let prev = performance.now();
    const lag = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - prev);
      prev = now;
    }, 1);
    try {
      const t = performance.now();
      controller.handle({ type: 'filter/changed', filter: { ...DEFAULT_FILTER, text: '^b$', regex: true } });
      assert.ok(performance.now() - t < 100, 'the filter message returned at once');
      assert.ok(last('frames/reset').counters.scanning > 0, 'the first answer is partial');
      await until(() => latest()?.counters.scanning === 0, 'the rescan to finish', 20000);
      assert.equal(latest()!.counters.shown, 333_334);
    } finally {
      clearInterval(lag);
    }
    assert.ok(longest < 150, `the event loop stalled ${longest.toFixed(0)} ms`);
  });

  it("a filter's answer is posted at once, not held by the flood's 3-posts-a-second hold", async () => {
    capture.setLimits({ maxRecords: 300_000 });
    for (let i = 0; i < 300_000; i++) capture.append(msg([i % 3 ? 'a' : 'b', String(i)]));
    open();
    const latest = () => [...posted].reverse().find((m) => m.type !== 'counters' && 'counters' in m) as Extract<FromHost, { counters: unknown }> | undefined;
    await until(() => latest()?.counters.scanning === 0, 'the first scan');
    const appended = () => posted.filter((m) => m.type === 'frames/appended').length;
    // a flood (40,000 a second for 0.5 s): the viewer is at its flood rate, 3 posts a second
    for (let tick = 0; tick < 50; tick++) {
      for (let i = 0; i < 400; i++) capture.append(msg(['f', String(tick)]));
      await sleep(10);
    }
    // the filter changes just after the flood's last post, within the flood's hold
    const before = appended();
    await until(() => appended() > before, "the flood's last post", 5000);
    // the rescan's last slice: its answer must be posted in the same turn, not on a later timer
    const query = controller.query;
    const update = query.update.bind(query);
    const from = posted.length;
    let checked: boolean | undefined;
    let checkQueued = false;
    query.update = (...args: Parameters<typeof update>) => {
      const r = update(...args);
      if (r.pending === 0 && !checkQueued) {
        checkQueued = true;
        // runs once the turn that finished the scan returns, before any timer
        queueMicrotask(() => (checked = posted.slice(from).some((m) => m.type !== 'counters' && 'counters' in m && m.counters.scanning === 0)));
      }
      return r;
    };
    controller.handle({ type: 'filter/changed', filter: { ...DEFAULT_FILTER, text: '^b$', regex: true } });
    assert.ok(last('frames/reset').counters.scanning > 0, 'the first answer is partial (the rescan takes more than one slice)');
    await until(() => checked !== undefined, 'the rescan to finish', 20000);
    assert.equal(checked, true, "the rescan's answer was held back after its last slice");
    let matching = 0;
    for (let i = 20_000; i < 300_000; i++) if (i % 3 === 0) matching++;
    assert.equal(latest()!.counters.shown, matching);
    assert.equal(latest()!.counters.scanning, 0);
  });

  it('a filter changed while paused scans only what the paused view had', async () => {
    for (let i = 0; i < 100; i++) capture.append(msg(['a']));
    open();
    controller.handle({ type: 'capture/setPaused', paused: true });
    assert.equal(last('counters').counters.paused, true);
    for (let i = 0; i < 50; i++) capture.append(msg(['a']));
    controller.handle({ type: 'filter/changed', filter: { ...DEFAULT_FILTER, topicPrefix: 'a' } });
    assert.equal(last('frames/reset').counters.shown, 100);
    controller.handle({ type: 'capture/setPaused', paused: false });
    assert.equal(last('frames/reset').counters.shown, 150);
  });

  it('a bad regex keeps the previous rows and says why; selecting returns the detail', () => {
    capture.append(msg(['x', 'y']));
    open();
    controller.handle({ type: 'filter/changed', filter: { ...DEFAULT_FILTER, text: '[', regex: true } });
    assert.match(last('frames/reset').filterError!, /Invalid regular expression/);
    assert.equal(last('frames/reset').counters.shown, 1);
    controller.handle({ type: 'row/select', seq: 1 });
    assert.equal(last('frame/detail').detail?.frames.length, 2);
    controller.handle({ type: 'row/select', seq: 99 });
    assert.match(last('frame/detail').missing!, /no longer in the capture/);
  });

  it('exports all or the filtered records and imports a file into the view, reporting bad lines by number', async () => {
    let saved = '';
    let file = { name: '/tmp/x/capture.jsonl', text: '' };
    for (let i = 0; i < 10; i++) capture.append(msg([i % 2 ? 'odd' : 'even', String(i)]));
    open({ save: async (_n, records, totals) => ((saved = toJsonLines(records, totals)), '/tmp/out.jsonl'), open: async () => file });
    controller.handle({ type: 'filter/changed', filter: { ...DEFAULT_FILTER, topicPrefix: 'odd' } });
    controller.handle({ type: 'export/request', scope: 'filtered' });
    await until(() => saved !== '', 'export');
    const parsed = parseJsonLines(saved);
    assert.equal(parsed.records.length, 5);
    assert.equal(parsed.summary?.records, 5);
    controller.handle({ type: 'export/request', scope: 'all' });
    await until(() => parseJsonLines(saved).records.length === 10, 'export all');
    file = { name: '/tmp/x/capture.jsonl', text: saved + 'not json\n' };
    controller.handle({ type: 'filter/changed', filter: DEFAULT_FILTER });
    controller.handle({ type: 'import/request' });
    await until(() => last('notice')?.text.startsWith('Imported'), 'import');
    assert.match(last('notice').text, /Imported 10 records from capture\.jsonl; 1 bad line \(line 12: not JSON/);
    const reset = last('frames/reset');
    assert.equal(reset.counters.source, 'capture.jsonl');
    assert.equal(reset.counters.shown, 10);
    // live appends do not disturb the imported view
    capture.append(msg(['live']));
    controller.handle({ type: 'source/live' });
    assert.equal(last('frames/reset').counters.source, 'live');
    assert.equal(last('frames/reset').counters.shown, 11);
  });

  it('sends from the composer and replays a captured message to a pyzmq PULL; binding needs trust', async () => {
    const port = await freePort();
    const pull = runPython(
      `import sys, zmq\ns = zmq.Context().socket(zmq.PULL)\ns.bind('tcp://127.0.0.1:' + sys.argv[1])\nprint('ready', flush=True)\nwhile True:\n    print('got ' + '|'.join(f.decode('latin1') for f in s.recv_multipart()), flush=True)\n`,
      [port],
    );
    await pull.waitFor('ready');
    capture.append(msg(['id', '', 'replayed body'], { envelopeFrames: 2 }));
    open({ isTrusted: () => false });
    const endpoint = `tcp://127.0.0.1:${port}`;
    controller.handle({ type: 'send/request', id: 1, socketType: 'PUSH', mode: 'connect', endpoint, frames: [{ format: 'text', value: 'hi' }, { format: 'json', value: '{ "n": 1 }' }] });
    await pull.waitFor('got hi|{"n":1}');
    await until(() => posted.some((m) => m.type === 'send/result' && m.id === 1), 'result 1');
    assert.equal(last('send/result').ok, true);
    controller.handle({ type: 'send/request', id: 2, socketType: 'PUSH', mode: 'connect', endpoint, frames: [], replaySeq: 1 });
    await pull.waitFor('got replayed body');
    controller.handle({ type: 'send/request', id: 3, socketType: 'PUSH', mode: 'bind', endpoint: 'tcp://127.0.0.1:1', frames: [{ format: 'text', value: 'x' }] });
    await until(() => posted.some((m) => m.type === 'send/result' && m.id === 3), 'result 3');
    assert.equal(last('send/result').ok, false);
    assert.match(last('send/result').message, /trusted workspace/);
    controller.handle({ type: 'send/request', id: 4, socketType: 'PUSH', mode: 'connect', endpoint, frames: [{ format: 'hex', value: 'zz' }] });
    await until(() => posted.some((m) => m.type === 'send/result' && m.id === 4), 'result 4');
    assert.match(last('send/result').message, /Frame 1: expected an even number of hex digits/);
  });
});
