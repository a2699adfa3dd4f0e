/**
 * The seeds' programs under the agent (issue 16): the pipeline with its result
 * collector, the poller, the monitored queue, run side by side with and without
 * the agent; their output is the same (up to what differs between two plain
 * runs: random ids, the order in which processes print), and every socket and
 * message shows up. Plus the socket monitor events the Python agent reports.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Capture } from '../../src/core/capture/capture';
import { CapturedEvent, CapturedMessage, ProcessRecord, SocketRecord } from '../../src/core/capture/records';
import { Collector } from '../../src/core/sessions/collector';
import { AGENT_FIXTURES, killAllRuns, run, start, texts } from './helpers/agentRun';
import { freePort, PYTHON, until } from './helpers/peers';

const fixture = (name: string) => join(AGENT_FIXTURES, name);
const all = (c: Capture) => [...c.records()];
const messages = (c: Capture, pid?: number) => all(c).filter((r): r is CapturedMessage => r.kind === 'message' && (pid === undefined || r.pid === pid));
const sockets = (c: Capture, pid?: number) => all(c).filter((r): r is SocketRecord => r.kind === 'socket' && (pid === undefined || r.pid === pid));
const events = (c: Capture, pid?: number) => all(c).filter((r): r is CapturedEvent => r.kind === 'event' && (pid === undefined || r.pid === pid));
const processes = (c: Capture) => all(c).filter((r): r is ProcessRecord => r.kind === 'process');
const opens = (c: Capture, pid: number) => sockets(c, pid).filter((r) => r.op === 'open');
/** What was written, as sorted characters without white space: the same for any interleaving of the same writes. */
const chars = (out: string) => [...out.replace(/\s/g, '')].sort().join('');

async function exited(c: Capture, pid: number, timeoutMs = 5000): Promise<void> {
  await until(() => processes(c).some((p) => p.pid === pid && p.state === 'exited'), `process ${pid} to exit in the capture`, timeoutMs);
}

/** The pids of the processes whose sockets, in order of opening, are of these types. */
function pidsWith(c: Capture, types: string[]): number[] {
  const pids = [...new Set(processes(c).map((p) => p.pid!))];
  return pids.filter((pid) => JSON.stringify(opens(c, pid).map((s) => s.socketType)) === JSON.stringify(types));
}

describe('the seeds under the agent: same output, every socket and message', function () {
  this.timeout(90000);
  let capture: Capture;
  let collector: Collector;
  let env: Record<string, string>;
  beforeEach(async () => {
    capture = new Capture();
    collector = await Collector.start({ capture });
    env = collector.environment({});
  });
  afterEach(async () => {
    await killAllRuns();
    await collector.stop();
    collector.dispose();
  });

  it('socket monitor events: bind, accept and connect with the peer, disconnect, a run of retries, a failed bind; the program’s own monitor and ctx.term() unharmed', async () => {
    const plain = await run(PYTHON, [fixture('monitor_events.py')], {}, 20000);
    const observed = await run(PYTHON, [fixture('monitor_events.py')], env, 20000);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(observed.code, 0);
    assert.equal(observed.stderr, '');
    assert.equal(observed.stdout, plain.stdout);
    assert.match(observed.stdout, /own monitor: True\nsockets in the context: 5\nterminated\n$/);
    await exited(capture, observed.pid);
    const pid = observed.pid;
    // the program's sockets, its own monitor PAIR among them; none of the agent's
    assert.deepEqual(opens(capture, pid).map((s) => s.socketType), ['REP', 'REQ', 'DEALER', 'PULL', 'PUSH', 'PAIR']);
    const ev = events(capture, pid);
    const of = (socket: string) => ev.filter((e) => e.socket === socket);
    const [rep, req, dealer, pull, push] = [1, 2, 3, 4, 5].map((n) => `${pid}.${n}`);
    const bind = sockets(capture, pid).find((s) => s.op === 'bind' && s.socket === rep)!;
    const repEvents = of(rep);
    assert.deepEqual(repEvents.map((e) => e.type), ['bind', 'accept', 'handshake', 'disconnect']);
    assert.ok(repEvents.every((e) => e.address === bind.endpoint));
    const accept = repEvents[1];
    assert.match(accept.peer!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(accept.peer, bind.endpoint);
    // the same connection seen from both ends: the REQ connected to the REP's address
    const connect = of(req).find((e) => e.type === 'connect')!;
    assert.equal(connect.peer, bind.endpoint);
    assert.equal(repEvents[3].peer, accept.peer);
    assert.ok(of(req).some((e) => e.type === 'handshake'));
    // a run of failed connects: the first retry, then one record with every attempt
    const retries = of(dealer);
    assert.equal(retries[0].type, 'connect:delay');
    const retry = retries.filter((e) => e.type === 'connect:retry');
    assert.equal(retry.length, 1);
    assert.equal(retry[0].attempts, 1);
    const retried = retries.find((e) => e.type === 'connect:retried')!;
    assert.ok(retried.attempts! >= 3, `${retried.attempts} attempts`);
    assert.ok(retried.since! <= retried.ts);
    const failed = of(pull).find((e) => e.type === 'bind:error')!;
    assert.equal(failed.code, 'EADDRINUSE');
    assert.equal(failed.error, 'Address already in use');
    // the socket the program monitors itself: no event taken from it
    assert.deepEqual(of(push), []);
    // the live model: peers while connected, events counted
    const model = collector.model.processes().find((p) => p.pid === pid)!;
    const repModel = model.sockets.get(rep)!;
    assert.equal(repModel.events!.accept, 1);
    assert.deepEqual(repModel.peers, []);
    assert.equal(model.sockets.get(dealer)!.events!['connect:retry'], retried.attempts);
    // ZMQ_DEBUG_AGENT_MONITOR=0: sockets and messages, no monitor events
    const off = await run(PYTHON, [fixture('monitor_events.py')], { ...env, ZMQ_DEBUG_AGENT_MONITOR: '0' }, 20000);
    assert.equal(off.stdout, plain.stdout);
    await exited(capture, off.pid);
    assert.equal(opens(capture, off.pid).length, 6);
    assert.deepEqual(events(capture, off.pid).map((e) => e.type), []);
  });

  it('a program that forks before any monitor, then closes and terminates in both processes: ctx.term() returns in each', async () => {
    const plain = await run(PYTHON, [fixture('fork_term.py')], {}, 20000);
    const observed = await run(PYTHON, [fixture('fork_term.py')], env, 20000);
    assert.equal(observed.code, 0, observed.stderr);
    assert.equal(observed.stdout, plain.stdout);
    await exited(capture, observed.pid);
    const child = processes(capture).find((p) => p.ppid === observed.pid && p.state === 'started')!;
    assert.ok(child, 'the child reported');
    assert.deepEqual(opens(capture, child.pid!).map((s) => s.socketType), ['PULL']);
    assert.deepEqual(opens(capture, observed.pid).map((s) => s.socketType), ['PUSH']);
    assert.ok(events(capture, child.pid!).some((e) => e.type === 'bind'), 'the child socket was monitored');
  });

  it('the pipeline (producer, consumer, result collector): same output; every task, result and connection', async () => {
    const [a1, a2, b1, b2] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // the gate wide open: the agent looks at every message it can queue, counts the rest
    const agent = { ...env, ZMQ_DEBUG_AGENT_GATE: '100000' };
    const pipeline = (p1: number, p2: number, e: Record<string, string>) => {
      const sink = start(PYTHON, ['-u', fixture('resultcollector.py'), p2], e);
      const consumer = start(PYTHON, ['-u', fixture('consumer.py'), p1, p2], e);
      return { sink, consumer };
    };
    const plain = pipeline(a1, a2, {});
    const observed = pipeline(b1, b2, agent);
    await until(() => plain.consumer.stdout() !== '' && observed.consumer.stdout() !== '', 'the consumers to start');
    const [pp, op] = await Promise.all([run(PYTHON, [fixture('producer.py'), a1]), run(PYTHON, [fixture('producer.py'), b1], agent)]);
    assert.deepEqual([op.code, op.stdout, op.stderr], [pp.code, pp.stdout, pp.stderr]);
    const [ps, os] = await Promise.all([plain.sink.done, observed.sink.done]);
    assert.equal(os.code, ps.code);
    assert.equal(os.stderr, '');
    // the consumer's random id is the only difference
    const id = (consumerOut: string) => /#(\d+)/.exec(consumerOut)![1];
    const norm = (out: string, cid: string) => out.replaceAll(cid, 'ID');
    assert.equal(norm(os.stdout, id(observed.consumer.stdout())), norm(ps.stdout, id(plain.consumer.stdout())));
    assert.equal(norm(os.stdout, id(observed.consumer.stdout())), '{ID: 1000}\n');
    assert.equal(norm(observed.consumer.stdout(), id(observed.consumer.stdout())), 'I am consumer #ID\n');

    await exited(capture, op.pid);
    await exited(capture, os.pid);
    const consumerPid = observed.consumer.proc.pid!;
    assert.deepEqual(opens(capture, op.pid).map((s) => s.socketType), ['PUSH']);
    assert.deepEqual(opens(capture, os.pid).map((s) => s.socketType), ['PULL']);
    assert.deepEqual(opens(capture, consumerPid).map((s) => s.socketType), ['PULL', 'PUSH']);
    assert.equal(sockets(capture, op.pid).find((s) => s.op === 'bind')!.endpoint, `tcp://127.0.0.1:${b1}`);
    assert.equal(sockets(capture, os.pid).find((s) => s.op === 'bind')!.endpoint, `tcp://127.0.0.1:${b2}`);
    assert.deepEqual(
      sockets(capture, consumerPid).filter((s) => s.op === 'connect').map((s) => s.endpoint),
      [`tcp://127.0.0.1:${b1}`, `tcp://127.0.0.1:${b2}`],
    );
    // 20,000 tasks sent: each one captured or counted dropped by the producer's agent
    const producer = collector.model.processes().find((p) => p.pid === op.pid)!;
    const tasks = messages(capture, op.pid);
    assert.ok(tasks.every((m) => m.direction === 'out'));
    // (the drop count is of reports: when the queue is full, a monitor event or the close can be among them)
    assert.ok(tasks.length + producer.dropped >= 20000 && tasks.length + producer.dropped <= 20000 + 8, `${tasks.length} + ${producer.dropped}`);
    assert.ok(tasks.length <= 20000);
    assert.ok(tasks.length >= 5000, `${tasks.length} tasks captured`);
    assert.deepEqual(JSON.parse(texts(tasks[0])[0]), { num: 0 });
    // the 1,000 results the collector received, all of them, from the consumer
    const results = messages(capture, os.pid);
    assert.equal(results.length, 1000);
    const cid = Number(id(observed.consumer.stdout()));
    assert.ok(results.every((m) => m.direction === 'in' && (JSON.parse(texts(m)[0]) as { consumer: number }).consumer === cid));
    // what the consumer received and sent (it runs until killed): tasks in, even results out
    await until(() => messages(capture, consumerPid).some((m) => m.direction === 'out'), 'the consumer to report');
    for (const m of messages(capture, consumerPid)) {
      const j = JSON.parse(texts(m)[0]) as { num: number; consumer?: number };
      if (m.direction === 'out') assert.deepEqual([j.consumer, j.num % 2], [cid, 0]);
      else assert.equal(j.consumer, undefined);
    }
    // the connections, from the producer's side: the consumer's PULL accepted, with its address
    const accepted = events(capture, op.pid).find((e) => e.type === 'accept')!;
    assert.match(accepted.peer!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(events(capture, consumerPid).some((e) => e.type === 'connect' && e.peer === `tcp://127.0.0.1:${b2}`));
  });

  it('the poller (PUSH server, PUB server, a client polling PULL and SUB, three processes): same output; every command and publication', async () => {
    const [a1, a2, b1, b2] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const [plain, observed] = await Promise.all([run(PYTHON, ['-u', fixture('zmqpolling.py'), a1, a2]), run(PYTHON, ['-u', fixture('zmqpolling.py'), b1, b2], env)]);
    assert.equal(observed.code, plain.code);
    assert.equal(observed.stderr, plain.stderr);
    // three processes write to one pipe: their prints interleave, even inside a line (each argument
    // is a write of its own). Compared: the characters written, once the random parts are taken out
    // (topic lines are random, and so is what the client processes)
    const fixed = (out: string, p1: number, p2: number) =>
      chars(out.replaceAll(String(p1), 'P1').replaceAll(String(p2), 'P2').replace(/Processing \.\.\. +\d+ server#\d+/g, '').replace(/\d+ server#\d+/g, ''));
    assert.equal(fixed(observed.stdout, b1, b2), fixed(plain.stdout, a1, a2));
    const [push] = pidsWith(capture, ['PUSH']);
    const [pub] = pidsWith(capture, ['PUB']);
    const [client] = pidsWith(capture, ['PULL', 'SUB']);
    assert.ok(push && pub && client, 'the three processes');
    for (const pid of [push, pub, client]) await exited(capture, pid, 15000);
    assert.deepEqual(processes(capture).filter((p) => p.pid === client && p.state === 'started').map((p) => [p.process, p.ppid]), [[`zmqpolling.py ▸ fork ${client} (client)`, observed.pid]]);
    const commands = ['Continue', 'Continue', 'Continue', 'Continue', 'Continue', 'Continue', 'Exit'];
    assert.deepEqual(messages(capture, push).map((m) => [m.direction, texts(m)[0]]), commands.map((c) => ['out', c]));
    const clientMessages = messages(capture, client);
    assert.deepEqual(clientMessages.filter((m) => m.socketType === 'PULL').map((m) => texts(m)[0]), commands);
    // what the publisher printed is what it sent; what the client processed is what its SUB received
    const published = [...observed.stdout.matchAll(/^(\d+ server#\d+)$/gm)].map((m) => m[1]);
    assert.deepEqual(messages(capture, pub).map((m) => texts(m)[0]), published);
    const processed = [...observed.stdout.matchAll(/Processing \.\.\. +(\d+ server#\d+)/g)].map((m) => m[1]);
    assert.deepEqual(clientMessages.filter((m) => m.socketType === 'SUB').map((m) => texts(m)[0]), processed);
    assert.equal(Buffer.from(sockets(capture, client).find((s) => s.op === 'subscribe')!.topic!).toString(), '9');
    assert.equal(sockets(capture, client).find((s) => s.op === 'connect' && s.socketType === 'SUB')!.endpoint, `tcp://localhost:${b2}`);
  });

  it('the monitored queue (MonitoredQueue device, REP server, two REQ clients, a SUB on the monitor): same output; every socket and message', async () => {
    const ports = async () => [await freePort(), await freePort(), await freePort()];
    const [a, b] = [await ports(), await ports()];
    const [plain, observed] = await Promise.all([run(PYTHON, ['-u', fixture('monitoredqueue.py'), ...a], {}, 40000), run(PYTHON, ['-u', fixture('monitoredqueue.py'), ...b], env, 40000)]);
    assert.equal(observed.code, plain.code);
    assert.equal(observed.stderr, plain.stderr); // pyzmq's deprecation warnings, the same
    // random server id and routing ids; five processes write to one pipe, interleaved (see the poller)
    const norm = (out: string) => chars(out.replace(/server # \d+/g, 'server # N').replace(/(Monitoring Client: \[b'(?:in|out)', ).*?(, b'', b')/g, '$1ID$2'));
    assert.equal(norm(observed.stdout), norm(plain.stdout));
    const [device] = pidsWith(capture, ['ROUTER', 'DEALER', 'PUB']);
    const [server] = pidsWith(capture, ['REP']);
    const clients = pidsWith(capture, ['REQ']);
    const [monitor] = pidsWith(capture, ['SUB']);
    assert.ok(device && server && monitor && clients.length === 2, 'the five processes with sockets');
    for (const pid of clients) await exited(capture, pid, 15000);
    await until(() => processes(capture).filter((p) => p.state === 'exited').length === 5, 'every process with sockets to end (three by SIGTERM)', 15000);
    assert.deepEqual(
      sockets(capture, device).filter((s) => s.op === 'bind').map((s) => [s.socketType, s.endpoint]),
      [['ROUTER', `tcp://127.0.0.1:${b[0]}`], ['DEALER', `tcp://127.0.0.1:${b[1]}`], ['PUB', `tcp://127.0.0.1:${b[2]}`]],
    );
    // the HWMs the seed sets, on the device's sockets
    assert.deepEqual(sockets(capture, device).filter((s) => s.op === 'option').map((s) => [s.socketType, s.option, s.value]), [
      ['ROUTER', 'sndhwm', 1],
      ['ROUTER', 'rcvhwm', 1],
      ['DEALER', 'sndhwm', 1],
      ['DEALER', 'rcvhwm', 1],
    ]);
    const serverId = /server # (\d+)/.exec(observed.stdout)![1];
    const requests = clients.map((pid) => messages(capture, pid).map((m) => [m.direction, texts(m)[0]]));
    assert.deepEqual(requests.flat().filter(([d]) => d === 'in').map(([, t]) => t), Array(2).fill(`Response from server # ${serverId}`));
    assert.deepEqual(requests.flat().filter(([d]) => d === 'out').map(([, t]) => t).sort(), ['Request # 1 from client # 0', 'Request # 1 from client # 1']);
    const served = messages(capture, server);
    assert.deepEqual(served.map((m) => m.direction), ['in', 'out', 'in', 'out']);
    // the monitor's SUB: four messages of four frames, as the monitoring client printed them
    const watched = messages(capture, monitor);
    assert.equal(watched.length, observed.stdout.split('Monitoring Client: [').length - 1);
    assert.equal(watched.length, 4);
    assert.ok(watched.every((m) => m.frames.length === 4 && ['in', 'out'].includes(texts(m)[0])));
    // the device (monitored_queue) runs its loop where the agent sees it: each request in on its ROUTER and
    // out of its DEALER, each reply back, and each of them on its monitor PUB with its prefix
    const moved = messages(capture, device).map((m) => `${m.socketType} ${m.direction}`);
    const count = (x: string) => moved.filter((y) => y === x).length;
    assert.deepEqual([count('ROUTER in'), count('DEALER out'), count('DEALER in'), count('ROUTER out'), count('PUB out')], [2, 2, 2, 2, 4]);
    // the connections, seen from the device's ROUTER: both clients accepted
    // the connections, from the device: both clients accepted on the ROUTER (they came and went within one tick
    // of the agent's reader, too fast for their address to be read), the server's on the DEALER, with its address
    const deviceEvents = events(capture, device);
    assert.equal(deviceEvents.filter((e) => e.type === 'accept' && e.address === `tcp://127.0.0.1:${b[0]}`).length, 2);
    assert.equal(deviceEvents.filter((e) => e.type === 'disconnect' && e.address === `tcp://127.0.0.1:${b[0]}`).length, 2);
    assert.match(deviceEvents.find((e) => e.type === 'accept' && e.address === `tcp://127.0.0.1:${b[1]}`)!.peer!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  });
});
