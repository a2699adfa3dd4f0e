/**
 * The detail pane's renderings of bytes (pure functions of the webview):
 * invalid UTF-8 stays visible, hex dump layout, JSON detection.
 */
import * as assert from 'node:assert/strict';
import { base64ToBytes, bytesToBase64, decodeUtf8Visible, defaultView, hexDump, isValidUtf8, prettyJson } from '../../src/webview/frameViews';

const b = (...x: number[]) => new Uint8Array(x);
const text = (bytes: Uint8Array) => decodeUtf8Visible(bytes).map((s) => s.text).join('');

describe('frame views', () => {
  it('decodes UTF-8 and shows invalid bytes and control characters as \\xNN', () => {
    assert.equal(text(new TextEncoder().encode('héllo ✓ 𝄞')), 'héllo ✓ 𝄞');
    const segs = decodeUtf8Visible(b(0x61, 0xff, 0x62, 0xc3, 0x28, 0x00, 0x0a, 0xe2, 0x82));
    assert.equal(segs.map((s) => s.text).join(''), 'a\\xffb\\xc3(\\x00\n\\xe2\\x82');
    assert.deepEqual(segs.filter((s) => s.mark).map((s) => s.mark), ['bad', 'bad', 'ctrl', 'bad', 'bad']);
    // overlong encodings and surrogates are not valid UTF-8
    assert.equal(text(b(0xc0, 0xaf)), '\\xc0\\xaf');
    assert.equal(text(b(0xed, 0xa0, 0x80)), '\\xed\\xa0\\x80');
    assert.equal(isValidUtf8(b(0xf0, 0x9d, 0x84, 0x9e)), true);
    assert.equal(isValidUtf8(b(0xf4, 0x90, 0x80, 0x80)), false);
  });

  it('hex dumps with offset, hex and ASCII columns', () => {
    const bytes = new TextEncoder().encode('hello world, this is 20+');
    assert.equal(
      hexDump(bytes),
      '00000000  68 65 6c 6c 6f 20 77 6f  72 6c 64 2c 20 74 68 69  |hello world, thi|\n' +
        '00000010  73 20 69 73 20 32 30 2b                           |s is 20+|',
    );
    assert.equal(hexDump(b()), '');
  });

  it('pretty-prints JSON objects and arrays and picks the view a frame opens in', () => {
    assert.equal(prettyJson(new TextEncoder().encode('{"a":1}')), '{\n  "a": 1\n}');
    assert.equal(prettyJson(new TextEncoder().encode('42')), undefined);
    assert.equal(prettyJson(new TextEncoder().encode('42'), true), '42');
    assert.equal(prettyJson(new TextEncoder().encode('{bad')), undefined);
    assert.equal(defaultView(new TextEncoder().encode('[1]')), 'json');
    assert.equal(defaultView(new TextEncoder().encode('10001 21 55')), 'text');
    assert.equal(defaultView(b(0, 1, 2)), 'hex');
    assert.equal(defaultView(b(0xff)), 'hex');
  });

  it('round-trips base64', () => {
    const bytes = new Uint8Array(70000).map((_, i) => i * 7);
    assert.deepEqual(base64ToBytes(bytesToBase64(bytes)), bytes);
    assert.equal(bytesToBase64(b(0, 0x6b, 0x8b, 0x45)), 'AGuLRQ==');
  });
});
