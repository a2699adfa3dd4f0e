/**
 * The decoder registry: names → factories, and the one parser of decoder specs
 * (`json`, `msgpack`, `cbor`, `text`, `auto`, `jupyter[:CONNECTION_FILE]`,
 * `protobuf:FILE.proto:Type`) used by the CLI, the settings and the viewer's picker.
 *
 * To add a decoder: write a module with a class implementing Decoder
 * (decoder.ts), then register it here with one `registerDecoder` line.
 */
import { AutoDecoder } from './auto';
import { CborDecoder } from './cbor';
import { Decoder, withDepthCap } from './decoder';
import { JsonDecoder } from './json';
import { JupyterDecoder } from './jupyter';
import { readSigningKey } from './jupyterConnection';
import { MsgpackDecoder } from './msgpack';
import { ProtobufDecoder } from './protobuf';
import { TextDecoderImpl } from './text';

/** Builds a decoder from the text after `NAME:` (undefined when there is none); throws an Error that says what is wrong. */
export type DecoderFactory = (arg: string | undefined) => Decoder;

interface Entry {
  factory: DecoderFactory;
  /** One line for help texts, e.g. `jupyter[:CONNECTION_FILE]`. */
  usage: string;
}

const decoders = new Map<string, Entry>();

export function registerDecoder(name: string, usage: string, factory: DecoderFactory): void {
  decoders.set(name, { factory, usage });
}

/** Usage forms of every registered decoder, e.g. for `--decode` help. */
export function decoderUsages(): string[] {
  return [...decoders.values()].map((e) => e.usage);
}

export function decoderNames(): string[] {
  return [...decoders.keys()];
}

/** A decoder from its spec, e.g. `protobuf:schemas/demo.proto:demo.Reading`, its values cut at MAX_DECODED_DEPTH; throws a clear Error for a bad spec. */
export function createDecoder(spec: string): Decoder {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? undefined : spec.slice(colon + 1);
  const entry = decoders.get(name);
  if (!entry) throw new Error(`unknown decoder '${name}' (known: ${decoderUsages().join(', ')})`);
  // every decoder's values stay printable: nothing nests past MAX_DECODED_DEPTH
  return withDepthCap(entry.factory(arg));
}

const noArg = (name: string, make: () => Decoder): DecoderFactory => (arg) => {
  if (arg !== undefined) throw new Error(`decoder '${name}' takes no argument (got '${name}:${arg}')`);
  return make();
};

registerDecoder('text', 'text', noArg('text', () => new TextDecoderImpl()));
registerDecoder('json', 'json', noArg('json', () => new JsonDecoder()));
registerDecoder('msgpack', 'msgpack', noArg('msgpack', () => new MsgpackDecoder()));
registerDecoder('cbor', 'cbor', noArg('cbor', () => new CborDecoder()));
registerDecoder('auto', 'auto', noArg('auto', () => new AutoDecoder()));
registerDecoder('jupyter', 'jupyter[:CONNECTION_FILE]', (arg) => new JupyterDecoder(arg ? readSigningKey(arg) : undefined));
registerDecoder('protobuf', 'protobuf:FILE.proto:Type', (arg) => {
  // the type is after the last ':' so that file paths may hold one (C:\…)
  const i = arg?.lastIndexOf(':') ?? -1;
  if (!arg || i <= 0 || i === arg.length - 1) throw new Error(`decoder 'protobuf' needs a file and a type: protobuf:FILE.proto:package.Type (got 'protobuf${arg !== undefined ? ':' + arg : ''}')`);
  return new ProtobufDecoder({ files: [arg.slice(0, i)], defaultType: arg.slice(i + 1) });
});
