import * as assert from 'node:assert/strict';
import { formatBytes, formatCount } from '../../src/shared/format';
import {
  endpointDescription,
  formatRate,
  onShownSessionsChange,
  parsePrefixes,
  sessionDescription,
  splitTopics,
  stateIcon,
  statusBarText,
  validatePort,
} from '../../src/extension/views/treeText';

describe('treeText', () => {
  it('formats counts, rates and bytes', () => {
    assert.equal(formatCount(1234567), '1,234,567');
    assert.equal(formatRate(0), '0 msg/s');
    assert.equal(formatRate(12040), '12,040 msg/s');
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(256 * 1024 * 1024), '256 MiB');
    assert.equal(formatBytes(3 * 1024 ** 4 * 1024), '3072 TiB');
  });

  it("writes whole counts as toLocaleString('en-US') does, without loading ICU's number formatting (it cost activate() 30-40 ms)", () => {
    const values = [0, -0, 1, 9, 12, 999, 1000, 1001, 99_999, 100_000, 123_456_789, 1e15, Number.MAX_SAFE_INTEGER, -1, -1000, -1_234_567, 1.5, 2.0004, 1e21, NaN, Infinity, -Infinity];
    for (let i = 0; i < 200; i++) values.push(Math.floor(Math.random() * 10 ** (1 + (i % 15))));
    const wanted = values.map((v) => v.toLocaleString('en-US'));
    const original = Number.prototype.toLocaleString;
    let calls = 0;
    Number.prototype.toLocaleString = function (this: number, ...args: Parameters<typeof original>) {
      calls++;
      return original.apply(this, args);
    };
    try {
      assert.deepEqual(
        values.map((v) => formatCount(v)),
        wanted,
      );
      calls = 0;
      for (const v of values) if (Number.isSafeInteger(v)) formatCount(v);
      assert.equal(calls, 0, 'a whole count went through toLocaleString');
    } finally {
      Number.prototype.toLocaleString = original;
    }
  });

  it('describes a session with state, count and rate, and only non-zero evicted/dropped', () => {
    // receiving: numbers first (the icon shows the state; a narrow side bar cuts the end)
    assert.equal(sessionDescription({ state: 'receiving', messages: 1234, rate: 12, evicted: 0, dropped: 0 }), '1,234 msgs · 12 msg/s');
    assert.equal(sessionDescription({ state: 'retrying', messages: 0, rate: 0, evicted: 0, dropped: 0 }), 'retrying · 0 msgs · 0 msg/s');
    assert.equal(sessionDescription({ state: 'connecting', messages: 1, rate: 0, evicted: 0, dropped: 0 }), 'connecting · 1 msg · 0 msg/s');
    assert.equal(
      sessionDescription({ state: 'receiving', messages: 10, rate: 5, evicted: 3, dropped: 2, connections: 1 }),
      '10 msgs · 5 msg/s · 1 connection · 3 evicted · 2 dropped',
    );
    // a stopped or failed session has no rate to show
    assert.equal(sessionDescription({ state: 'error', messages: 0, rate: 0, evicted: 0, dropped: 0 }), 'error · 0 msgs');
  });

  it('has an icon for every state', () => {
    for (const s of ['connecting', 'connected', 'receiving', 'retrying', 'listening', 'stopped', 'error'] as const) {
      assert.ok(stateIcon(s), s);
    }
  });

  it('status bar text shows sessions and total rate', () => {
    assert.equal(statusBarText(0, 0), '$(radio-tower) ZeroMQ');
    assert.equal(statusBarText(2, 153), '$(radio-tower) 2 · 153 msg/s');
  });

  it('describes endpoints by what the code does with them and who observes them', () => {
    assert.equal(endpointDescription({}), '');
    assert.equal(endpointDescription({ uses: [{ role: 'bind', socketType: 'PUB' }, { role: 'bind', socketType: 'PUB' }] }), 'binds PUB');
    assert.equal(
      endpointDescription({ uses: [{ role: 'connect', socketType: 'SUB' }, { role: 'bind', socketType: 'PUB' }, { role: 'connect', socketType: 'XSUB' }], sessions: ['spy-1'] }),
      'spy-1 · binds PUB · connects SUB/XSUB',
    );
    assert.equal(endpointDescription({ uses: [{ role: 'connect' }, { socketType: 'PAIR' }, {}] }), 'connects · PAIR');
    assert.equal(endpointDescription({ sessions: ['spy-1', 'tap-2'] }), 'spy-1, tap-2');
  });

  it('splits the topic prompt on commas; empty means every topic', () => {
    assert.deepEqual(splitTopics(''), []);
    assert.deepEqual(splitTopics('  '), []);
    assert.deepEqual(splitTopics('10001, hex:0aff ,,x'), ['10001', 'hex:0aff', 'x']);
  });

  it('parses monitor prefixes with precise errors', () => {
    assert.deepEqual(parsePrefixes('in,out'), { inPrefix: 'in', outPrefix: 'out' });
    assert.deepEqual(parsePrefixes(' IN , OUT '), { inPrefix: 'IN', outPrefix: 'OUT' });
    assert.throws(() => parsePrefixes('in'), /two prefixes/);
    assert.throws(() => parsePrefixes('in,'), /two prefixes/);
    assert.throws(() => parsePrefixes('a,b,c'), /two prefixes/);
    assert.throws(() => parsePrefixes('x,x'), /must differ \(both are 'x'\)/);
  });

  it('validates ports', () => {
    assert.equal(validatePort('5556'), undefined);
    assert.equal(validatePort(' 1 '), undefined);
    assert.match(validatePort('0')!, /out of range/);
    assert.match(validatePort('65536')!, /out of range/);
    assert.match(validatePort('abc')!, /not a port number/);
    assert.match(validatePort('')!, /not a port number/);
  });
});

describe('tree text: a spy that retries or falls behind', () => {
  it('says so first, with the backlog and the attempts, and the status bar counts the spies behind', () => {
    assert.equal(
      sessionDescription({ state: 'receiving', messages: 10, rate: 0, evicted: 0, dropped: 0, behind: { backlogBytes: 3 * 1024 * 1024 } }),
      'falling behind (≥ 3 MiB waiting) · 10 msgs · 0 msg/s',
    );
    assert.equal(sessionDescription({ state: 'retrying', messages: 0, rate: 0, evicted: 0, dropped: 0, retryAttempts: 1234 }), 'retrying (1,234 attempts) · 0 msgs · 0 msg/s');
    assert.equal(statusBarText(2, 0, 1), '$(radio-tower) 2 ·  · $(warning) 1 falling behind'.replace('·  ·', `· ${formatRate(0)} ·`));
  });

  it("onShownSessionsChange: tells of sessions' ids, states and endpoints changing, not of their details", () => {
    let list = [{ id: 'spy-1', state: 'retrying', endpoints: ['tcp://127.0.0.1:1'] }];
    const listeners: (() => void)[] = [];
    const sessions = { onDidChange: (l: () => void) => (listeners.push(l), { dispose: () => listeners.splice(listeners.indexOf(l), 1) }), list: () => list };
    const change = () => listeners.forEach((l) => l());
    let told = 0;
    const sub = onShownSessionsChange(sessions, () => told++);
    change(); // a retry: same id, state and endpoints
    change();
    assert.equal(told, 0);
    list = [{ ...list[0], state: 'receiving' }];
    change();
    assert.equal(told, 1, 'a state');
    list = [...list, { id: 'spy-2', state: 'connecting', endpoints: ['tcp://127.0.0.1:2'] }];
    change();
    assert.equal(told, 2, 'a session started');
    list = [list[1]];
    change();
    assert.equal(told, 3, 'a session stopped');
    sub.dispose();
    list = [];
    change();
    assert.equal(told, 3, 'not after dispose');
  });
});
