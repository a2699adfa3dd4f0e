/**
 * Jupyter kernels found by themselves: the connection files in Jupyter's
 * runtime directory become one "Jupyter kernel …" group per kernel in the
 * Endpoints view, with its five channels and their socket types (the row's Spy
 * button spies on IOPub). Each kernel also gives a decoder rule: the messages
 * of its channels are read with the Jupyter decoder and its key, so signatures
 * are checked. The key stays inside the decoder: it is never shown or logged.
 *
 * The directory is read at start, when it changes, and every few seconds
 * (a file watcher does not reach outside the workspace everywhere).
 */
import * as vscode from 'vscode';
import { findJupyterKernels, JupyterKernel } from '../../core/discovery/jupyterKernels';
import type { DecoderRuleSpec } from '../../shared/protocol/frames';
import type { DiscoveredEndpoint, EndpointSource, EndpointsTree } from '../views/endpointsTree';

const RESCAN_MS = 5000;

export class JupyterKernelsSource implements vscode.Disposable {
  private kernels: JupyterKernel[] = [];
  private readonly groups = new Map<string, { source: KernelSource; registration: vscode.Disposable }>();
  private readonly timer: NodeJS.Timeout;
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** The kernels changed (their decoder rules too). */
  readonly onDidChange = this.changeEmitter.event;
  private scanning: Promise<void> | undefined;

  constructor(private readonly endpoints: EndpointsTree) {
    this.timer = setInterval(() => void this.rescan(), RESCAN_MS);
    this.timer.unref?.();
    void this.rescan();
  }

  /** The kernels found in the last scan, newest first. */
  list(): readonly JupyterKernel[] {
    return this.kernels;
  }

  /** One rule per channel of every kernel: its messages are read as Jupyter messages, signed with its key. */
  decoderRules(): DecoderRuleSpec[] {
    return this.kernels.flatMap((k) => k.channels.filter((c) => c.name !== 'hb').map((c) => ({ spec: `jupyter:${k.file}`, endpoint: c.endpoint })));
  }

  rescan(): Promise<void> {
    this.scanning ??= this.scan().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scan(): Promise<void> {
    const { kernels } = await findJupyterKernels();
    const before = this.kernels.map((k) => `${k.id}:${k.pid}`).join();
    this.kernels = kernels;
    if (kernels.map((k) => `${k.id}:${k.pid}`).join() === before) return;
    const seen = new Set<string>();
    for (const k of kernels) {
      seen.add(k.id);
      const group = this.groups.get(k.id);
      if (group) group.source.update(k);
      else {
        const source = new KernelSource(k);
        this.groups.set(k.id, { source, registration: this.endpoints.registerSource(source) });
      }
    }
    for (const [id, g] of this.groups) {
      if (seen.has(id)) continue;
      g.registration.dispose();
      g.source.dispose();
      this.groups.delete(id);
    }
    this.changeEmitter.fire();
  }

  dispose(): void {
    clearInterval(this.timer);
    for (const g of this.groups.values()) {
      g.registration.dispose();
      g.source.dispose();
    }
    this.groups.clear();
    this.changeEmitter.dispose();
  }
}

/** One kernel as a group of the Endpoints view. */
class KernelSource implements EndpointSource {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  readonly id: string;
  label: string;

  constructor(private kernel: JupyterKernel) {
    this.id = `jupyter-${kernel.id}`;
    this.label = labelOf(kernel);
  }

  update(k: JupyterKernel): void {
    this.kernel = k;
    this.label = labelOf(k);
    this.emitter.fire();
  }

  endpoints(): DiscoveredEndpoint[] {
    // the kernel binds; what a client connects with is the other socket type of the pair
    return this.kernel.channels.map((c) => ({ endpoint: c.endpoint, role: 'bind' as const, socketType: c.kernelSocket }));
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

function labelOf(k: JupyterKernel): string {
  return `Jupyter kernel ${k.kernelName ?? ''} ${k.id.slice(0, 8)}${k.pid !== undefined ? ` (pid ${k.pid})` : ''}`.replace(/\s+/g, ' ');
}
