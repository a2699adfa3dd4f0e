/**
 * The spy inside a real VS Code extension host: code-server started as tier 3
 * starts it (test/e2e/ui/codeServer.ts: this repository as the extension,
 * headless Chromium as the user), the frames viewer open, a spy started from
 * the palette on a pyzmq PUB with default options (SNDHWM 1000) that sends
 * 16 B messages as fast as it can for `seconds`, counting what it sent. The
 * ratio is the messages the capture received (the viewer's `received` counter,
 * exact: the capture's own count) divided by the messages sent. Every round
 * starts a fresh code-server and stops it with everything it started (the
 * helper checks that no process of its private folder survives). As a
 * reference, alternating with these rounds: what a pyzmq SUB receives from
 * the same kind of publisher, and what the cheapest possible subscriber does
 * (see bench/cliSpy.ts).
 *
 * The ceiling (`spy_in_host_ceiling_*`): the same round with, instead of the
 * spy, the best possible reader inside the same extension host: the bench-only
 * drain of src/extension/benchDrain.ts (started through code-server's
 * environment, it reads the socket and counts bytes: no decode, no capture,
 * no view), the frames viewer open as in a spy round.
 *
 * The live-viewer ceiling (`spy_in_host_live_ceiling_*`): the ceiling's round
 * with, besides, a spy started from the palette on a second publisher paced at
 * LIVE_VIEWER_RATE messages a second, enough to keep the frames viewer in its
 * flood mode (3 batches of new rows a second, as in a spy round): the best
 * reader with the viewer as live as the spy round shows it. The gap between
 * the two ceilings is what a live viewer costs the flooded reader on this
 * machine (each batch is a frame of the whole workbench in Chromium's renderer).
 *
 * During every host and ceiling round, the CPU each process used between the
 * publisher's first message and its last (from /proc/<pid>/stat), by role:
 * the publisher, the extension host, code-server's server, Chromium's
 * renderers, GPU and browser processes, this bench (Playwright's driver).
 *
 *   npx tsx bench/hostSpy.ts [--seconds S] [--runs N]
 *   npx tsx bench/hostSpy.ts --compare-viewer | --rounds [--modes spy,ceiling,live-ceiling] [--runs N]   (host rounds only, with their CPU)
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCodeServer, TEST_WORKSPACE, type CodeServer } from '../test/e2e/ui/codeServer';
import { drainRound, handled, HarnessError, pyzmqRound, startTimedPublisher, type TimedPublisher } from './cliSpy';
import { fault, median, numberArg, printAndExit } from './util';

/** The live-viewer ceiling's trickle: messages a second, twice the viewer's flood threshold (FLOOD.recordsPerS). */
const LIVE_VIEWER_RATE = 10_000;

/** Tries of one UI step before the round fails (and is re-run with a fresh code-server). */
const UI_TRIES = 3;
/** Re-runs of a round that failed outside the product (HarnessError), per round, before the part fails with its error. */
const ROUND_RERUNS = 3;

/**
 * One UI step, tried up to UI_TRIES times, each within its own `timeoutMs`
 * (what it waits for is given that timeout too): a step the workbench missed
 * (focus elsewhere, a palette that did not open) is done again after Escape.
 * Only for steps that can be repeated: one that may have started something is
 * not retried (see hostRound). Fails with a HarnessError naming the step.
 */
async function uiStep(vsc: CodeServer, name: string, timeoutMs: number, step: (timeoutMs: number) => Promise<void>): Promise<void> {
  let last: unknown;
  for (let attempt = 1; attempt <= UI_TRIES; attempt++) {
    try {
      if (fault('host-ui')) throw new Error('forced UI step failure (BENCH_FAULTS=host-ui)');
      await withTimeout(step(timeoutMs), timeoutMs + 1000, `UI step "${name}"`);
      return;
    } catch (e) {
      last = e;
      process.stderr.write(`[host] UI step "${name}" failed (try ${attempt} of ${UI_TRIES}): ${firstLine(e)}\n`);
      await vsc.page.keyboard.press('Escape').catch(() => undefined);
    }
  }
  throw new HarnessError(`UI step "${name}" failed ${UI_TRIES} times: ${firstLine(last)}`);
}

/** `p`, or a rejection after `ms` (p's own later rejection stays handled). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  void handled(p);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);

/** Polls of the viewer's counter before a round gives up waiting for it to stand still. */
const COUNTER_POLL_MS = 250;

/**
 * The viewer's `received` counter once it has stood still for 2 s (at most
 * 60 s; the first one within 20 s). Only reads that succeeded count: a read the page did not answer in
 * time (a loaded machine, a webview reloading) is a UI failure, not a reading
 * of 0. Nothing ever read fails the round outside the product (it is re-run);
 * a counter read as 0 is the product's failure.
 */
export async function readSettledCounter(read: () => Promise<string | null>, o: { maxMs?: number; firstReadMs?: number } = {}): Promise<number> {
  const started = Date.now();
  const end = started + (o.maxMs ?? 60_000);
  const firstBy = started + (o.firstReadMs ?? 20_000);
  let value: number | undefined;
  let since = Date.now();
  let failures = 0;
  let lastError = '';
  while (Date.now() < end) {
    const v = await read().then(
      (x) => Number(x ?? NaN),
      (e: unknown) => {
        failures++;
        lastError = firstLine(e);
        return undefined;
      },
    );
    if (v !== undefined && Number.isFinite(v)) {
      if (v !== value) {
        value = v;
        since = Date.now();
      } else if (Date.now() - since >= 2000) break;
    }
    if (value === undefined && Date.now() > firstBy) break;
    await new Promise((r) => setTimeout(r, COUNTER_POLL_MS));
  }
  if (value === undefined) throw new HarnessError(`the viewer's counters could not be read (${failures} failed reads, last: ${lastError})`);
  if (!value) throw new Error(`the viewer counted nothing (${failures} failed reads of its counters besides)`);
  return value;
}

/** The roles a round's processes are grouped in for its CPU profile. */
export const CPU_ROLES = ['publisher', 'extension_host', 'server', 'renderer', 'gpu', 'browser', 'chromium_other', 'bench', 'other'] as const;
export type CpuRole = (typeof CPU_ROLES)[number];
type CpuSnapshot = Map<number, { ticks: number; role: CpuRole }>;
const TICK_MS = 10; // CLK_TCK is 100 on Linux

/** What a process of this bench's tree is, from its command line. */
function roleOf(cmd: string, pid: number): CpuRole {
  if (pid === process.pid) return 'bench';
  // the live-viewer ceiling's paced trickle (a rate after its HWM) is not the flooding publisher
  if (/timed_pub\.py \d+ \S+ \d+ \d+ \d+/.test(cmd)) return 'other';
  if (cmd.includes('timed_pub.py')) return 'publisher';
  if (cmd.includes('--type=extensionHost')) return 'extension_host';
  if (/chrom/i.test(cmd)) {
    if (cmd.includes('--type=renderer')) return 'renderer';
    if (cmd.includes('--type=gpu-process')) return 'gpu';
    return cmd.includes('--type=') ? 'chromium_other' : 'browser';
  }
  if (cmd.includes('code-server') || cmd.includes('server-main')) return 'server';
  return 'other';
}

/** utime + stime of this process and every descendant (code-server, its extension host, Chromium, the publisher). */
function cpuSnapshot(): CpuSnapshot {
  const all = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // the fields after the command name (which may hold spaces): state ppid ... utime(14) stime(15)
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      all.set(pid, { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // ended meanwhile
    }
  }
  const snap: CpuSnapshot = new Map();
  const mine = new Set([process.pid]);
  // parents come before their children often but not always: repeat until nothing is added
  for (let added = true; added; ) {
    added = false;
    for (const [pid, p] of all) {
      if (mine.has(pid) || !mine.has(p.ppid)) continue;
      mine.add(pid);
      added = true;
    }
  }
  for (const pid of mine) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    snap.set(pid, { ticks: all.get(pid)!.ticks, role: roleOf(cmd, pid) });
  }
  return snap;
}

/** CPU per role between two snapshots, in cores (CPU ms ÷ wall ms); a process started in between counts whole. */
function cpuCores(before: CpuSnapshot, after: CpuSnapshot, wallMs: number): Record<CpuRole, number> {
  const cores = Object.fromEntries(CPU_ROLES.map((r) => [r, 0])) as Record<CpuRole, number>;
  for (const [pid, a] of after) {
    const b = before.get(pid);
    // the role known first: a process that just exited (the publisher, once it printed its count) has no command line left
    cores[b?.role ?? a.role] += ((a.ticks - (b?.ticks ?? 0)) * TICK_MS) / wallMs;
  }
  return cores;
}

const formatCores = (c: Record<CpuRole, number>) =>
  CPU_ROLES.filter((r) => c[r] >= 0.005)
    .map((r) => `${r} ${c[r].toFixed(2)}`)
    .join(', ');

type HostMode = 'spy' | 'background' | 'ceiling' | 'live-ceiling';
interface HostRoundResult {
  sent: number;
  received: number;
  /** Cores each role used while the publisher sent. */
  cores: Record<CpuRole, number>;
  /** The same for each renderer process (the workbench's, the webviews'), largest first. */
  renderers: number[];
  /** With HOST_SPY_TRACE (not PROFILE): what the page's renderer did per second (see frameRates). */
  frames?: Record<string, number>;
}

/**
 * Per second of a round's trace, on the page renderer's main thread: main
 * frames (each a style, layout and paint of what changed), paints of the
 * workbench's whole document (its root layer), fake mouse moves (Blink sends
 * one after a layout under the pointer), and the thread's busy milliseconds.
 */
export function frameRates(events: { name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: { name?: string; data?: { nodeId?: number; clip?: number[] } } }[]): Record<string, number> {
  const main = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const onMain = events.filter((e) => main.has(`${e.pid}:${e.tid}`) && e.dur !== undefined);
  const times = events.filter((e) => e.ts > 0).map((e) => e.ts);
  const seconds = times.length ? (Math.max(...times) - Math.min(...times)) / 1e6 : 0;
  if (!seconds) return {};
  const per = (n: number) => +(n / seconds).toFixed(1);
  const sum = (name: string) => onMain.filter((e) => e.name === name).reduce((n, e) => n + (e.dur ?? 0) / 1000, 0);
  const count = (f: (e: (typeof onMain)[number]) => boolean) => onMain.filter(f).length;
  // the root layer's paint has the whole viewport as its clip (the widest, from 0,0)
  const clipOf = (e: (typeof onMain)[number]) => (e.name === 'Paint' && e.args?.data?.clip?.[0] === 0 && e.args.data.clip[1] === 0 ? (e.args.data.clip[4] ?? 0) * (e.args.data.clip[5] ?? 0) : 0);
  const page = Math.max(0, ...onMain.map(clipOf));
  const wholePage = (e: (typeof onMain)[number]) => page > 0 && clipOf(e) === page;
  return {
    main_frames_per_s: per(count((e) => e.name === 'ProxyMain::BeginMainFrame')),
    whole_page_paints_per_s: per(count(wholePage)),
    mouse_moves_per_s: per(count((e) => e.name === 'EventHandler::handleMouseMoveEvent')),
    main_thread_ms_per_s: per(sum('RunTask')),
  };
}

/**
 * Bench-only: while a round's publisher sends, records Chromium's trace of the
 * workbench's page (its frames, the webview's among them: Layout, Paint, timers,
 * JS), or with HOST_SPY_PROFILE its JS CPU profile; the stop function returns
 * the events (or the profile). Set HOST_SPY_TRACE=<path prefix> to get
 * `<prefix>.<mode>.<time>.json` per round (open in chrome://tracing / DevTools).
 */
async function startTrace(page: import('playwright-core').Page): Promise<() => Promise<unknown>> {
  const cdp = await page.context().newCDPSession(page);
  const events: unknown[] = [];
  cdp.on('Tracing.dataCollected', (e: { value: unknown[] }) => events.push(...e.value));
  if (process.env.HOST_SPY_PROFILE) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
    return async () => (await cdp.send('Profiler.stop')).profile;
  }
  await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline,toplevel,v8.execute,blink,cc', transferMode: 'ReportEvents' });
  return async () => {
    const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
    await cdp.send('Tracing.end');
    await done;
    return events;
  };
}

async function hostRound(seconds: number, mode: HostMode = 'spy'): Promise<HostRoundResult> {
  const viewer = mode !== 'background';
  const drained = mode === 'ceiling' || mode === 'live-ceiling';
  const pub = await startTimedPublisher(seconds, 16);
  let vsc: CodeServer | undefined;
  let trickle: TimedPublisher | undefined;
  let failed = true;
  // the ceiling's files: the go signal the bench gives, the count the drain writes
  const hookDir = drained ? mkdtempSync(join(tmpdir(), 'zmq-bench-drain-')) : '';
  const go = join(hookDir, 'go');
  const out = join(hookDir, 'out');
  try {
    // the issue-27 failure: the publisher gone before it printed "sending" (the round is re-run)
    if (fault('host-publisher')) pub.crash();
    try {
      const env = drained ? { ZMQ_DEBUG_BENCH_DRAIN: String(pub.port), ZMQ_DEBUG_BENCH_DRAIN_GO: go, ZMQ_DEBUG_BENCH_DRAIN_OUT: out } : undefined;
      vsc = await startCodeServer({ folder: TEST_WORKSPACE, env });
    } catch (e) {
      throw new HarnessError(`code-server did not start: ${firstLine(e)}`);
    }
    const code = vsc;
    const page = code.page;
    const tab = page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Frames' }).first();
    const view = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const counters = view.locator('.counters');
    await uiStep(code, 'open the ZeroMQ view container', 15000, (t) => code.openViewContainer('ZeroMQ', t));
    await uiStep(code, 'open the frames viewer', 20000, async (t) => {
      // run again only when the first try did not open it (a second run would just focus it)
      if (!(await tab.isVisible())) await code.runCommand('ZeroMQ: Open Frames Viewer', t);
      await tab.waitFor({ state: 'visible', timeout: t });
      await counters.waitFor({ state: 'attached', timeout: t });
    });
    // without the viewer (for comparison): its tab goes to the background behind a new editor, so it is sent nothing
    if (!viewer) await uiStep(code, 'open an untitled editor', 15000, (t) => code.runCommand('File: New Untitled Text File', t));
    if (mode === 'live-ceiling') {
      // the viewer's rows, live: a spy on the trickle, sending until well after the flood's end
      trickle = await startTimedPublisher(seconds + 60, 16, undefined, LIVE_VIEWER_RATE);
      await startSpy(code, `tcp://127.0.0.1:${trickle.port}`);
      await withTimeout(trickle.sending, 30_000, "the spy connecting to the live viewer's trickle");
      await uiStep(code, 'see the trickle in the viewer', 15000, async (t) => {
        const end = Date.now() + t;
        while (!Number(await counters.getAttribute('data-received', { timeout: t }))) {
          if (Date.now() > end) throw new Error('the viewer counted nothing of the trickle');
          await new Promise((r) => setTimeout(r, 200));
        }
      });
    }
    if (drained) writeFileSync(go, '');
    else await startSpy(code, `tcp://127.0.0.1:${pub.port}`);
    // bounded: a spy that never connects would leave the publisher waiting for its first subscriber forever
    await withTimeout(pub.sending, 30_000, 'the spy connecting to the publisher (its handshake)');
    const first = cpuSnapshot();
    const trace = process.env.HOST_SPY_TRACE ? await startTrace(page) : undefined;
    const startedAt = Date.now();
    const sent = await withTimeout(pub.sent, seconds * 1000 + 30_000, 'the publisher finishing').catch((e: unknown) => {
      throw e instanceof HarnessError ? e : new HarnessError(firstLine(e));
    });
    const last = cpuSnapshot();
    const wallMs = Date.now() - startedAt;
    let frames: Record<string, number> | undefined;
    if (trace) {
      const events = await trace();
      writeFileSync(`${process.env.HOST_SPY_TRACE}.${mode}.${Date.now()}.json`, JSON.stringify(events));
      if (Array.isArray(events)) frames = frameRates(events as Parameters<typeof frameRates>[0]);
    }
    const cores = cpuCores(first, last, wallMs);
    const renderers = [...last]
      .filter(([pid, p]) => (first.get(pid)?.role ?? p.role) === 'renderer')
      .map(([pid, p]) => +(((p.ticks - (first.get(pid)?.ticks ?? 0)) * TICK_MS) / wallMs).toFixed(3))
      .sort((a, b) => b - a);
    if (!viewer) await uiStep(code, 'bring the viewer back', 15000, (t) => tab.click({ timeout: t }));
    // what waited in the buffers is received after the publisher stopped: until the counter stands still
    const received = drained ? await drainCount(out) : await readSettledCounter(() => counters.getAttribute('data-received', { timeout: 2000 }));
    failed = false;
    return { sent, received, cores, renderers, frames };
  } finally {
    pub.stop();
    trickle?.stop();
    if (hookDir) rmSync(hookDir, { recursive: true, force: true });
    // a stop that fails must not replace the round's own error (it is told beside it)
    await vsc?.stop().catch((e: unknown) => {
      if (!failed) throw new HarnessError(`code-server did not stop cleanly: ${firstLine(e)}`);
      process.stderr.write(`[host] code-server did not stop cleanly after the round failed: ${firstLine(e)}\n`);
    });
  }
}

/** Starts a spy on `endpoint` from the palette, as a user does. */
async function startSpy(code: CodeServer, endpoint: string): Promise<void> {
  const widget = code.page.locator('.quick-input-widget');
  await uiStep(code, 'open the spy prompt', 15000, async (t) => {
    await code.runEndpointCommand('ZeroMQ: Spy on Endpoint…', endpoint);
    await widget.locator('.quick-input-title', { hasText: `Spy on ${endpoint}` }).waitFor({ state: 'visible', timeout: t });
  });
  // starts the spy: not retried (a second spy would double the count), the round is re-run instead
  await code.page.keyboard.press('Enter');
  try {
    await widget.waitFor({ state: 'hidden', timeout: 15000 });
  } catch (e) {
    throw new HarnessError(`the spy prompt did not close after Enter: ${firstLine(e)}`);
  }
}

/** Messages the extension host's bench drain counted (16 B messages: 18 bytes each on the wire), once it wrote its count. */
async function drainCount(out: string): Promise<number> {
  const end = Date.now() + 60_000;
  while (!existsSync(out)) {
    if (Date.now() > end) throw new HarnessError("the extension host's bench drain wrote no count within 60 s");
    await new Promise((r) => setTimeout(r, 250));
  }
  const bytes = Number(/bytes (\d+)/.exec(readFileSync(out, 'utf8'))?.[1] ?? NaN);
  if (!bytes) throw new Error(`the extension host's bench drain read nothing (${readFileSync(out, 'utf8').trim()})`);
  return Math.floor(bytes / 18);
}

/** One round with the viewer in a background tab: what the viewer costs (informational). */
export const hostRoundWithoutViewer = (seconds: number) => hostRound(seconds, 'background');

export async function runHostSpyBench(opts: { seconds: number; runs: number; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[host] ${l}\n`));
  const ratios: number[] = [];
  const sent: number[] = [];
  const lib: number[] = [];
  const drain: number[] = [];
  const ceiling: number[] = [];
  const hostCores: Record<CpuRole, number>[] = [];
  const ceilingCores: Record<CpuRole, number>[] = [];
  const live: number[] = [];
  const liveCores: Record<CpuRole, number>[] = [];
  let reruns = 0;
  /** Runs a round, re-running it when it failed outside the product (counted); the product's errors fail the part as they are. */
  async function round<T>(what: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (e) {
        if (!(e instanceof HarnessError)) throw e;
        if (attempt >= ROUND_RERUNS) throw new Error(`${what} failed ${attempt + 1} times outside the product, last: ${e.message}`);
        reruns++;
        log(`${what} failed outside the product, re-running it: ${e.message}`);
      }
    }
  }
  for (let i = 0; i < opts.runs; i++) {
    // alternating with the references (a pyzmq SUB, and the drain, on the same kind of publisher)
    const p = await round(`pyzmq SUB round ${i + 1}`, () => pyzmqRound(opts.seconds, 16));
    lib.push(p.received / p.sent);
    const d = await round(`drain round ${i + 1}`, () => drainRound(opts.seconds, 16));
    drain.push(d.received / d.sent);
    const r = await round(`host round ${i + 1}`, () => hostRound(opts.seconds));
    ratios.push(r.received / r.sent);
    sent.push(r.sent);
    hostCores.push(r.cores);
    const c = await round(`ceiling round ${i + 1}`, () => hostRound(opts.seconds, 'ceiling'));
    ceiling.push(c.received / c.sent);
    ceilingCores.push(c.cores);
    const l = await round(`live-viewer ceiling round ${i + 1}`, () => hostRound(opts.seconds, 'live-ceiling'));
    live.push(l.received / l.sent);
    liveCores.push(l.cores);
    log(`16 B run ${i + 1}: sent ${r.sent} in ${opts.seconds} s, captured ${r.received} (${(r.received / r.sent).toFixed(3)}); pyzmq SUB got ${p.received} of ${p.sent} (${(p.received / p.sent).toFixed(3)}); drain got ${d.received} of ${d.sent} (${(d.received / d.sent).toFixed(3)}); the extension host's drain got ${c.received} of ${c.sent} (${(c.received / c.sent).toFixed(3)}), with the viewer live ${l.received} of ${l.sent} (${(l.received / l.sent).toFixed(3)})`);
    log(`  cores used while sending, spy round: ${formatCores(r.cores)}`);
    log(`  cores used while sending, ceiling round: ${formatCores(c.cores)}`);
    log(`  cores used while sending, live-viewer ceiling round: ${formatCores(l.cores)}`);
  }
  const medianCores = (prefix: string, rounds: Record<CpuRole, number>[]) =>
    Object.fromEntries(CPU_ROLES.map((role) => [`${prefix}${role}`, +median(rounds.map((x) => x[role])).toFixed(3)]));
  return {
    spy_in_host_captured_ratio_16b: +median(ratios).toFixed(3),
    spy_in_host_pair_min_16b: +Math.min(...ratios).toFixed(3),
    spy_in_host_pair_max_16b: +Math.max(...ratios).toFixed(3),
    spy_in_host_sent_per_s_16b: Math.round(median(sent) / opts.seconds),
    // what the fastest plain subscriber gets from the same publisher on this machine (informational, no target)
    spy_in_host_pyzmq_sub_ratio_16b: +median(lib).toFixed(3),
    // the ceiling: what a subscriber that only reads its socket gets (bench/cliSpy.ts drainRound), and our share of it
    spy_in_host_drain_ratio_16b: +median(drain).toFixed(3),
    spy_in_host_vs_drain_16b: +(median(ratios) / median(drain)).toFixed(3),
    // rounds (host or reference) that failed outside the product and were run again: not hidden, not counted in the figures
    spy_in_host_rounds_rerun: reruns,
    // the ceiling: the best possible reader inside the same extension host (src/extension/benchDrain.ts), and its share of the drain's
    spy_in_host_ceiling_ratio_16b: +median(ceiling).toFixed(3),
    spy_in_host_ceiling_pair_min_16b: +Math.min(...ceiling).toFixed(3),
    spy_in_host_ceiling_pair_max_16b: +Math.max(...ceiling).toFixed(3),
    spy_in_host_ceiling_vs_drain_16b: +(median(ceiling) / median(drain)).toFixed(3),
    // the same reader with the frames viewer live (a spy on a paced trickle keeps it in its flood mode): the ceiling for a spy shown live
    spy_in_host_live_ceiling_ratio_16b: +median(live).toFixed(3),
    spy_in_host_live_ceiling_pair_min_16b: +Math.min(...live).toFixed(3),
    spy_in_host_live_ceiling_pair_max_16b: +Math.max(...live).toFixed(3),
    spy_in_host_live_ceiling_vs_drain_16b: +(median(live) / median(drain)).toFixed(3),
    // where the machine's time went while the publisher sent (cores, medians of the rounds): informational
    ...medianCores('spy_in_host_cpu_cores_', hostCores),
    ...medianCores('spy_in_host_ceiling_cpu_cores_', ceilingCores),
    ...medianCores('spy_in_host_live_ceiling_cpu_cores_', liveCores),
  };
}

/** `--modes a,b`: the modes of --rounds, in this order (default: the spy and both ceilings). */
function modesArg(): HostMode[] {
  const i = process.argv.indexOf('--modes');
  const modes = (i >= 0 ? process.argv[i + 1] : 'spy,ceiling,live-ceiling').split(',') as HostMode[];
  const known: HostMode[] = ['spy', 'background', 'ceiling', 'live-ceiling'];
  for (const m of modes) if (!known.includes(m)) throw new Error(`--modes: "${m}" is not one of ${known.join(', ')}`);
  return modes;
}

if (require.main === module) {
  if (process.argv.includes('--compare-viewer')) {
    printAndExit(
      (async () => {
        const out = [];
        for (let i = 0; i < numberArg('runs', 1); i++) {
          const a = await hostRound(numberArg('seconds', 10), 'spy');
          const b = await hostRound(numberArg('seconds', 10), 'background');
          out.push({ viewer: +(a.received / a.sent).toFixed(3), sentViewer: a.sent, coresViewer: a.cores, background: +(b.received / b.sent).toFixed(3), sentBackground: b.sent, coresBackground: b.cores });
        }
        return out;
      })(),
    );
  } else if (process.argv.includes('--rounds')) {
    // host and ceiling rounds only (both ceilings), alternating, with their CPU profiles (for before/after comparisons)
    printAndExit(
      (async () => {
        const out = [];
        for (let i = 0; i < numberArg('runs', 1); i++) {
          for (const mode of modesArg()) {
            const r = await hostRound(numberArg('seconds', 10), mode);
            out.push({ mode, ratio: +(r.received / r.sent).toFixed(3), sent: r.sent, received: r.received, cores: formatCores(r.cores), renderers: r.renderers, ...(r.frames && { frames: r.frames }) });
            process.stderr.write(`[host] ${JSON.stringify(out[out.length - 1])}\n`);
          }
        }
        return out;
      })(),
    );
  } else printAndExit(runHostSpyBench({ seconds: numberArg('seconds', 10), runs: numberArg('runs', 1) }));
}
