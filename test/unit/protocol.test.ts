/**
 * The host↔webview protocol's validators: each side accepts only well-formed
 * messages and says precisely what is wrong with the others; the host's
 * controller ignores (and logs) malformed messages without side effects.
 */
import * as assert from 'node:assert/strict';
import { Capture } from '../../src/core/capture/capture';
import { FramesViewController } from '../../src/viewers/framesViewController';
import { DEFAULT_FILTER, FromHost, parseFilter, parseFromHost, parseFromWebview, ProtocolError } from '../../src/shared/protocol/frames';

describe('protocol', () => {
  it('accepts every well-formed webview message unchanged', () => {
    const messages = [
      { type: 'ready' },
      { type: 'ready', filter: DEFAULT_FILTER },
      { type: 'view/window', start: 10, count: 40, follow: false },
      { type: 'filter/changed', filter: { ...DEFAULT_FILTER, text: 'a.c', regex: true, direction: 'toTarget', kinds: ['message'] } },
      { type: 'row/select', seq: 5 },
      { type: 'capture/setPaused', paused: true },
      { type: 'capture/clear' },
      { type: 'frame/copy', seq: 1, index: 0, as: 'base64' },
      { type: 'export/request', scope: 'filtered' },
      { type: 'import/request' },
      { type: 'source/live' },
      { type: 'send/request', id: 1, socketType: 'REQ', mode: 'connect', endpoint: 'tcp://127.0.0.1:5555', frames: [{ format: 'json', value: '{}' }] },
      { type: 'send/request', id: 2, socketType: 'PUB', mode: 'bind', endpoint: 'tcp://*:5556', frames: [], replaySeq: 9 },
    ];
    for (const m of messages) assert.deepEqual(parseFromWebview(JSON.parse(JSON.stringify(m))), m);
  });

  it('rejects malformed webview messages, naming the problem', () => {
    const bad: [unknown, RegExp][] = [
      [null, /message must be an object/],
      [{ type: 'rm -rf' }, /unknown message type "rm -rf"/],
      [{ type: 'row/select', seq: '5' }, /'seq' must be a whole number/],
      [{ type: 'row/select', seq: 0 }, /'seq' must be a whole number in \[1,/],
      [{ type: 'view/window', start: 0, count: 1e9, follow: true }, /'count' must be a whole number in \[0, 10000\]/],
      [{ type: 'frame/copy', seq: 1, index: 0, as: 'html' }, /'as' must be one of text, hex, base64/],
      [{ type: 'filter/changed', filter: { ...DEFAULT_FILTER, kinds: ['message', 'secret'] } }, /unknown record kind "secret"/],
      [{ type: 'filter/changed', filter: { ...DEFAULT_FILTER, direction: 'sideways' } }, /'direction' must be one of/],
      [{ type: 'filter/changed' }, /filter must be an object/],
      [{ type: 'send/request', id: 1, socketType: 'ROUTER', mode: 'connect', endpoint: 'x', frames: [] }, /'socketType' must be one of PUB, PUSH, REQ, DEALER, PAIR/],
      [{ type: 'send/request', id: 1, socketType: 'PUB', mode: 'connect', endpoint: 'x', frames: [{ format: 'xml', value: '' }] }, /'format' must be one of text, hex, json/],
    ];
    for (const [m, re] of bad) assert.throws(() => parseFromWebview(m), (e: Error) => e instanceof ProtocolError && re.test(e.message), JSON.stringify(m));
    assert.deepEqual(parseFilter({ ...DEFAULT_FILTER, kinds: ['event', 'event'] }).kinds, ['event'], 'duplicate kinds collapse');
  });

  it('validates host messages on the webview side', () => {
    const counters = { received: 1, records: 2, retained: 2, shown: 1, evicted: 0, dropped: 0, rate: 0, paused: false, scanning: 0, source: 'live', sessions: ['spy-1'], socketTypes: [] };
    const row = { seq: 1, ts: 1.5, kind: 'message', session: 'spy-1', endpoint: 'e', direction: 'in', socketType: 'SUB', topic: 't', frames: 1, size: 1, preview: '<b>' };
    const good: FromHost[] = [
      { type: 'frames/reset', counters, filter: DEFAULT_FILTER, filterFromHost: true, base: 0, start: 0, rows: [row as never] },
      { type: 'frames/appended', counters, base: 3, start: 3, rows: [], added: 2 },
      { type: 'counters', counters },
      { type: 'frame/detail', seq: 1, detail: { seq: 1, ts: 1, kind: 'message', session: 's', endpoint: 'e', fields: [['a', 'b']], frames: [{ index: 0, length: 1, role: 'delimiter', data: 'AA==', cut: false }] } },
      { type: 'frame/detail', seq: 2, missing: 'gone' },
      { type: 'send/result', id: 1, ok: true, message: 'Sent', reply: [{ index: 0, length: 0, role: 'body', data: '', cut: false }] },
      { type: 'notice', level: 'error', text: 'x' },
    ];
    for (const m of good) assert.deepEqual(parseFromHost(JSON.parse(JSON.stringify(m))), m);
    assert.throws(() => parseFromHost({ type: 'frames/appended', counters, base: 0, start: 0, rows: [{ ...row, kind: 'evil' }], added: 0 }), /'kind' must be one of/);
    assert.throws(() => parseFromHost({ type: 'counters', counters: { ...counters, received: -1 } }), /'received' must be a whole number/);
    assert.throws(() => parseFromHost({ type: 'eval' }), /unknown message type/);
  });

  it('the controller ignores malformed messages: nothing posted, the problem logged', async () => {
    const capture = new Capture();
    const posted: FromHost[] = [];
    const logged: string[] = [];
    const c = new FramesViewController(capture, { post: (m) => posted.push(m), log: (l) => logged.push(l) });
    c.handle({ type: 'capture/clear', extra: 1 });
    c.handle({ type: 'row/select', seq: 'all' });
    c.handle('ready');
    assert.deepEqual(posted, []);
    assert.equal(logged.length, 2);
    assert.match(logged[0], /Ignored a malformed message from the frames viewer: 'seq' must be a whole number/);
    assert.match(logged[1], /message must be an object/);
    c.dispose();
    capture.dispose();
  });
});
