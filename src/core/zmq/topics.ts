/**
 * Topic prefixes for subscriptions, given as text or as `hex:` followed by hex
 * digits (for binary topics), e.g. `10001`, `hex:0aff`.
 */
export function parseTopic(input: string): Uint8Array {
  if (input.startsWith('hex:')) {
    const hex = input.slice(4).replace(/\s+/g, '');
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw new Error(`Invalid hex topic '${input}': expected an even number of hex digits after 'hex:'`);
    }
    return Buffer.from(hex, 'hex');
  }
  return Buffer.from(input, 'utf8');
}

/** The inverse of parseTopic: text when printable UTF-8 without a `hex:` prefix, else `hex:…`. */
export function formatTopic(topic: Uint8Array): string {
  const buf = Buffer.from(topic.buffer, topic.byteOffset, topic.byteLength);
  const text = buf.toString('utf8');
  const printable = /^[\x20-\x7e\u00a0-\uffff]*$/.test(text) && !text.includes('\ufffd') && !text.startsWith('hex:');
  return printable ? text : `hex:${buf.toString('hex')}`;
}
