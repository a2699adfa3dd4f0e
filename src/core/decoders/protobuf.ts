/**
 * `protobuf`: body frames as Protocol Buffers messages, types from .proto files
 * (protobufjs). The message type is chosen per topic: the first frame of a
 * multipart message is its topic (PUB/SUB habit) and picks the type by the
 * longest matching prefix; single-frame messages use the default type.
 */
import * as fs from 'node:fs';
import * as protobuf from 'protobufjs';
import { readRegularFile } from '../base/files';
import { bodyFrames, DecodeInput, DecodeResult, Decoder, errorText, frameText } from './decoder';

export interface ProtobufOptions {
  /** .proto files (imports resolved relative to each file). */
  files: string[];
  /** Fully qualified type for messages without a topic mapping, e.g. `demo.Reading`. */
  defaultType?: string;
  /** Topic prefix → fully qualified type; the longest matching prefix wins. */
  topics?: Record<string, string>;
}

/** protobufjs's fs.readFileSync (it calls it with a file name only, for each .proto file and import). */
function protoFileReader(file: fs.PathOrFileDescriptor): Buffer {
  try {
    return readRegularFile(String(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOENT unchanged: protobufjs skips missing optional imports (google/protobuf/*) by it
    if (code) throw e;
    throw new Error(`${String(file)}: ${(e as Error).message}`);
  }
}

export class ProtobufDecoder implements Decoder {
  readonly name = 'protobuf';
  private readonly root: protobuf.Root;
  private readonly byTopic: [string, protobuf.Type][];
  private readonly defaultType?: protobuf.Type;

  /** Loads the files and resolves every named type now, so that a typo fails at once with a clear error. */
  constructor(o: ProtobufOptions) {
    if (!o.files.length) throw new Error('protobuf: give at least one .proto file');
    // protobufjs finds 'fs' through a dynamic require that bundlers hide: hand it over, with
    // the .proto files and their imports read only from regular files within the input limit
    (protobuf.util as unknown as { fs: typeof fs }).fs = { ...fs, readFileSync: protoFileReader } as typeof fs;
    try {
      this.root = new protobuf.Root().loadSync(o.files, { keepCase: true });
    } catch (e) {
      throw new Error(`protobuf: cannot load ${o.files.join(', ')}: ${errorText(e)}`);
    }
    const lookup = (name: string) => {
      try {
        return this.root.lookupType(name);
      } catch {
        const known: string[] = [];
        const walk = (ns: protobuf.NamespaceBase) => {
          for (const n of ns.nestedArray) {
            if (n instanceof protobuf.Type) known.push(n.fullName.replace(/^\./, ''));
            if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) walk(n);
          }
        };
        walk(this.root);
        throw new Error(`protobuf: no message type '${name}' in ${o.files.join(', ')} (known: ${known.join(', ') || 'none'})`);
      }
    };
    this.defaultType = o.defaultType ? lookup(o.defaultType) : undefined;
    this.byTopic = Object.entries(o.topics ?? {})
      .map(([p, t]) => [p, lookup(t)] as [string, protobuf.Type])
      .sort((a, b) => b[0].length - a[0].length);
    if (!this.defaultType && !this.byTopic.length) throw new Error('protobuf: name a message type (default or per topic)');
  }

  typeFor(topic: string | undefined): protobuf.Type | undefined {
    if (topic !== undefined) for (const [p, t] of this.byTopic) if (topic.startsWith(p)) return t;
    return this.defaultType;
  }

  decode(msg: DecodeInput): DecodeResult {
    const fail = (error: string): DecodeResult => ({ ok: false, decoder: this.name, error });
    if (msg.encrypted) return fail('the message is CURVE-encrypted');
    const frames = bodyFrames(msg);
    const env = msg.frames.length - frames.length;
    if (!frames.length) return fail('no frames');
    let topic: string | undefined;
    let first = 0;
    if (frames.length > 1) {
      try {
        topic = frameText(frames[0]);
        first = 1;
      } catch {
        topic = undefined;
      }
    }
    const type = this.typeFor(topic);
    if (!type) return fail(`no message type for topic '${topic ?? ''}'`);
    const values: unknown[] = [];
    for (let i = first; i < frames.length; i++) {
      if (msg.truncated?.[env + i] !== undefined) return fail(`frame ${env + i}: captured truncated`);
      try {
        const m = type.decode(frames[i]);
        values.push(type.toObject(m, { longs: String, enums: String, bytes: String, defaults: true }));
      } catch (e) {
        return fail(`frame ${env + i}: not a ${type.fullName.replace(/^\./, '')}: ${errorText(e)}`);
      }
    }
    const value = values.length === 1 ? values[0] : values;
    return topic !== undefined ? { ok: true, decoder: this.name, value, topic } : { ok: true, decoder: this.name, value };
  }
}
