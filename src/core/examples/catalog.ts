/**
 * The examples catalog: every ZeroMQ system described in the seed documents our
 * users learn from, as roles to run (one program per role and language under
 * `examples/node` and `examples/python`), the ports it needs and where to watch
 * it with our own tools (spy, monitor spy, tap).
 *
 * Pure data plus argument builders: nothing here opens a socket or a process.
 * The ExampleRunner allocates the ports and spawns the roles; whoever runs the
 * example (the CLI, the VS Code layer) starts the spies and taps it lists.
 */

export type ExampleLanguage = 'node' | 'python';

/** What a role's argument builder may ask for. */
export interface RoleContext {
  /** 1-based instance number (a role with `instances: 2` runs as 1 and 2). */
  readonly instance: number;
  /** Pacing of producers in ms (the runner's `intervalMs` option). */
  readonly intervalMs: number;
  /** The endpoint to bind for a named port: always `tcp://127.0.0.1:<port>`. */
  bind(port: string): string;
  /**
   * The endpoint to connect to for a named port: the tap's listen endpoint when
   * the run uses taps and the catalog puts a tap in front of that port, else the
   * port itself.
   */
  connect(port: string): string;
}

export interface ExampleRole {
  /** Role name shown in the tree and used as output prefix, e.g. `worker`. */
  readonly name: string;
  /** Script path without extension, relative to `examples/<language>/` (`.js` / `.py` appended). */
  readonly script: string;
  /** How many processes run this role (default 1). */
  readonly instances?: number;
  /** Command-line arguments for one instance. */
  args(ctx: RoleContext): string[];
  /** One line: what this role does. */
  readonly summary: string;
}

/** Where to watch an example with our own tools; ports are names from `ports`. */
export type ObserveSpec =
  | { readonly kind: 'spy'; readonly port: string; readonly label: string; readonly topics?: readonly string[] }
  | { readonly kind: 'monitor'; readonly port: string; readonly label: string; readonly inPrefix: string; readonly outPrefix: string }
  /** A tap in front of a bound port: connecting roles reach the port through the tap when the run uses taps. */
  | { readonly kind: 'tap'; readonly port: string; readonly label: string };

export interface ExampleDefinition {
  /** kebab-case id, e.g. `round-robin`. */
  readonly id: string;
  readonly title: string;
  /** What the example shows and which seed document it comes from. */
  readonly description: string;
  /** The seed document (its title) the example follows. */
  readonly seed: string;
  /** Named ports to allocate (each a free 127.0.0.1 port, bound by one role). */
  readonly ports: readonly string[];
  readonly roles: readonly ExampleRole[];
  readonly observe: readonly ObserveSpec[];
  /** What to look for while it runs (one or two sentences for the UI). */
  readonly watchFor: string;
}

const SEED_PUSH_PULL = 'Simple, Non-blocking, Push/Pull Example with ZeroMQ (Floyd Hightower)';
const SEED_RETRY = 'Pyzmq - not a lot of best practices (Richard Bucker)';
const SEED_ROUND_ROBIN = 'Quick ZeroMQ Round Robin (push-pull) with Python';
const SEED_LEARNING = 'Learning ØMQ with pyzmq (Ashish Vidyarthi)';

const ms = (n: number) => String(Math.round(n));

export const EXAMPLES: readonly ExampleDefinition[] = [
  {
    id: 'push-pull',
    title: 'Non-blocking push/pull',
    seed: SEED_PUSH_PULL,
    description: `A client PUSHes values without waiting for an answer; a server PULLs them and processes each slowly. From "${SEED_PUSH_PULL}".`,
    watchFor: 'The client keeps sending while the server is still processing earlier values: it never waits.',
    ports: ['push'],
    roles: [
      { name: 'client', script: 'pushPull/client', summary: 'PUSH, binds, sends 0, 1, 2, ... without waiting', args: (c) => [c.bind('push'), ms(c.intervalMs)] },
      { name: 'server', script: 'pushPull/server', summary: 'PULL, connects, processes each value slowly', args: (c) => [c.connect('push'), ms(c.intervalMs * 3)] },
    ],
    observe: [{ kind: 'tap', port: 'push', label: 'client PUSH ← server PULL' }],
  },
  {
    id: 'round-robin',
    title: 'Round robin (PUSH to N PULL workers)',
    seed: SEED_ROUND_ROBIN,
    description: `One PUSH deals messages to two PULL workers in turn; stop a worker and the other gets everything, restart it and both share again. From "${SEED_ROUND_ROBIN}".`,
    watchFor: 'Each worker gets every other message; stop one from the tree and the other gets them all; restart it and they share again.',
    ports: ['push'],
    roles: [
      { name: 'ventilator', script: 'roundRobin/ventilator', summary: 'PUSH, binds, sends numbered messages', args: (c) => [c.bind('push'), ms(c.intervalMs)] },
      { name: 'worker', script: 'roundRobin/worker', instances: 2, summary: 'PULL, connects, prints what it gets', args: (c) => [c.connect('push'), String(c.instance)] },
    ],
    observe: [{ kind: 'tap', port: 'push', label: 'ventilator PUSH ← workers (one tap connection per worker)' }],
  },
  {
    id: 'req-rep',
    title: 'Request/reply: one client, two servers',
    seed: SEED_LEARNING,
    description: `A REQ client connected to two REP servers: its requests go to the servers in turn, so the replies alternate. From "${SEED_LEARNING}", Client / Server.`,
    watchFor: 'Replies alternate: World from <port 1>, World from <port 2>, ...',
    ports: ['server1', 'server2'],
    roles: [
      { name: 'server', script: 'reqRep/server', instances: 2, summary: 'REP, binds its own port, replies "World from <port>"', args: (c) => [c.bind(`server${c.instance}`), ms(c.intervalMs / 2)] },
      { name: 'client', script: 'reqRep/client', summary: 'REQ, connects to both servers', args: (c) => [ms(c.intervalMs), c.connect('server1'), c.connect('server2')] },
    ],
    observe: [
      { kind: 'tap', port: 'server1', label: 'client REQ → server 1 REP' },
      { kind: 'tap', port: 'server2', label: 'client REQ → server 2 REP' },
    ],
  },
  {
    id: 'retry-client',
    title: 'Retrying request client',
    seed: SEED_RETRY,
    description: `A REQ client polls for each reply with a timeout, counts down its retries and, when none are left, closes its socket, reconnects and resends. Stop and restart the server to see it. From "${SEED_RETRY}".`,
    watchFor: 'Stop the server: the client reports timeouts, then closes and reconnects; restart it: replies resume.',
    ports: ['server'],
    roles: [
      { name: 'server', script: 'retryClient/server', summary: 'REP, binds; stop and restart it', args: (c) => [c.bind('server'), '0'] },
      {
        name: 'client',
        script: 'retryClient/client',
        summary: 'REQ with receive timeout, retries, reconnects',
        args: (c) => [c.connect('server'), ms(Math.max(100, c.intervalMs * 2)), '3', ms(c.intervalMs)],
      },
    ],
    observe: [{ kind: 'tap', port: 'server', label: 'client REQ → server REP' }],
  },
  {
    id: 'pub-sub',
    title: 'Publish/subscribe: topic filter, two publishers',
    seed: SEED_LEARNING,
    description: `Two PUB publishers send "<topic> <data>" on topics 9999..10004; one SUB subscriber connected to both filters on topic 10001 and gets both publishers' messages interleaved. From "${SEED_LEARNING}", Publish/Subscribe.`,
    watchFor: 'The spies see every topic from each publisher; the subscriber prints only 10001, from both.',
    ports: ['pub1', 'pub2'],
    roles: [
      { name: 'publisher', script: 'pubSub/publisher', instances: 2, summary: 'PUB, binds, random topics 9999..10004', args: (c) => [c.bind(`pub${c.instance}`), `pub${c.instance}`, ms(c.intervalMs)] },
      { name: 'subscriber', script: 'pubSub/subscriber', summary: 'SUB to both publishers, topic 10001', args: (c) => ['10001', c.connect('pub1'), c.connect('pub2')] },
    ],
    observe: [
      { kind: 'spy', port: 'pub1', label: 'publisher 1' },
      { kind: 'spy', port: 'pub2', label: 'publisher 2' },
    ],
  },
  {
    id: 'pair',
    title: 'PAIR: two peers, both ways',
    seed: SEED_LEARNING,
    description: `Two PAIR sockets exchange messages in both directions (the server sends one, the client sends two per round). From "${SEED_LEARNING}", PAIR.`,
    watchFor: 'Messages flow both ways over the one connection.',
    ports: ['pair'],
    roles: [
      { name: 'server', script: 'pair/server', summary: 'PAIR, binds, sends one and receives one per round', args: (c) => [c.bind('pair'), ms(c.intervalMs)] },
      { name: 'client', script: 'pair/client', summary: 'PAIR, connects, receives one and sends two per round', args: (c) => [c.connect('pair'), ms(c.intervalMs)] },
    ],
    observe: [{ kind: 'tap', port: 'pair', label: 'server PAIR ↔ client PAIR' }],
  },
  {
    id: 'pipeline',
    title: 'Pipeline: producer → consumers → collector',
    seed: SEED_LEARNING,
    description: `A producer PUSHes work to three consumers; each PUSHes a result for every even number to a collector that counts results per consumer. From "${SEED_LEARNING}", Push/Pull.`,
    // Three consumers, not two: PUSH deals paced work in strict turn, so with two
    // one consumer would get every odd number and never send a result.
    watchFor: 'The collector\'s totals show the results shared between the consumers.',
    ports: ['work', 'results'],
    roles: [
      { name: 'collector', script: 'pipeline/collector', summary: 'PULL, binds, counts results per consumer', args: (c) => [c.bind('results'), '10'] },
      { name: 'consumer', script: 'pipeline/consumer', instances: 3, summary: 'PULL work, PUSH results for even numbers', args: (c) => [c.connect('work'), c.connect('results'), String(c.instance)] },
      { name: 'producer', script: 'pipeline/producer', summary: 'PUSH, binds, sends {"num": n}', args: (c) => [c.bind('work'), ms(c.intervalMs)] },
    ],
    observe: [
      { kind: 'tap', port: 'work', label: 'producer PUSH ← consumers' },
      { kind: 'tap', port: 'results', label: 'consumers → collector PULL' },
    ],
  },
  {
    id: 'queue-device',
    title: 'Queue device (ROUTER/DEALER)',
    seed: SEED_LEARNING,
    description: `A queue device (ROUTER facing clients, DEALER facing servers) between two REQ clients and two REP servers; everyone connects to the device. From "${SEED_LEARNING}", ØMQ Devices / Queue.`,
    watchFor: 'The device deals requests to the two servers in turn: each client gets replies from both.',
    ports: ['frontend', 'backend'],
    roles: [
      { name: 'device', script: 'queueDevice/device', summary: 'ROUTER ↔ DEALER proxy, binds both', args: (c) => [c.bind('frontend'), c.bind('backend')] },
      { name: 'server', script: 'queueDevice/server', instances: 2, summary: 'REP, connects to the backend', args: (c) => [c.connect('backend'), String(c.instance), ms(c.intervalMs / 2)] },
      // Clients at different paces, so that each one's requests visibly reach both servers.
      {
        name: 'client',
        script: 'queueDevice/client',
        instances: 2,
        summary: 'REQ, connects to the frontend',
        args: (c) => [c.connect('frontend'), String(c.instance), ms(c.intervalMs * (c.instance === 1 ? 1 : 1.5))],
      },
    ],
    observe: [
      { kind: 'tap', port: 'frontend', label: 'clients REQ → device ROUTER' },
      { kind: 'tap', port: 'backend', label: 'device DEALER → servers REP' },
    ],
  },
  {
    id: 'forwarder-device',
    title: 'Forwarder device (SUB/PUB)',
    seed: SEED_LEARNING,
    description: `A forwarder device (SUB facing publishers, subscribed to everything; PUB facing subscribers) between two publishers and a subscriber on topic 9. From "${SEED_LEARNING}", ØMQ Devices / Forwarder.`,
    watchFor: 'The spy on the device\'s PUB sees every topic from both publishers; the subscriber prints topic 9 from both.',
    ports: ['frontend', 'backend'],
    roles: [
      { name: 'device', script: 'forwarderDevice/device', summary: 'SUB → PUB proxy, binds both', args: (c) => [c.bind('frontend'), c.bind('backend')] },
      { name: 'publisher', script: 'forwarderDevice/publisher', instances: 2, summary: 'PUB, connects to the frontend, topics 1..9', args: (c) => [c.connect('frontend'), String(c.instance), ms(c.intervalMs)] },
      { name: 'subscriber', script: 'forwarderDevice/subscriber', summary: 'SUB, connects to the backend, topic 9', args: (c) => [c.connect('backend'), '9'] },
    ],
    observe: [
      { kind: 'spy', port: 'backend', label: 'device PUB (everything forwarded)' },
      { kind: 'tap', port: 'frontend', label: 'publishers PUB → device SUB' },
    ],
  },
  {
    id: 'streamer-device',
    title: 'Streamer device (PULL/PUSH)',
    seed: SEED_LEARNING,
    description: `A streamer device (PULL facing task feeders, PUSH facing workers) between a feeder and two workers. From "${SEED_LEARNING}", ØMQ Devices / Streamer.`,
    watchFor: 'Tasks alternate between the two workers.',
    ports: ['frontend', 'backend'],
    roles: [
      { name: 'device', script: 'streamerDevice/device', summary: 'PULL → PUSH proxy, binds both', args: (c) => [c.bind('frontend'), c.bind('backend')] },
      { name: 'worker', script: 'streamerDevice/worker', instances: 2, summary: 'PULL, connects to the backend', args: (c) => [c.connect('backend'), String(c.instance)] },
      { name: 'feeder', script: 'streamerDevice/feeder', summary: 'PUSH, connects to the frontend, sends {"num": n}', args: (c) => [c.connect('frontend'), ms(c.intervalMs)] },
    ],
    observe: [
      { kind: 'tap', port: 'frontend', label: 'feeder PUSH → device PULL' },
      { kind: 'tap', port: 'backend', label: 'device PUSH → workers PULL' },
    ],
  },
  {
    id: 'monitored-queue',
    title: 'Monitored queue',
    seed: SEED_LEARNING,
    description: `A queue device (ROUTER/DEALER) whose monitor PUB republishes every message it relays, prefixed "in" (client → server) or "out" (server → client); a server, two clients and a monitoring subscriber. From "${SEED_LEARNING}", PyZmq Devices / Monitor Queue.`,
    watchFor: 'The monitor spy shows each request (in) and its reply (out) with the ROUTER envelope.',
    ports: ['frontend', 'backend', 'monitor'],
    roles: [
      {
        name: 'device',
        script: 'monitoredQueue/device',
        summary: 'ROUTER ↔ DEALER queue with a monitor PUB',
        args: (c) => [c.bind('frontend'), c.bind('backend'), c.bind('monitor'), 'in', 'out'],
      },
      { name: 'server', script: 'monitoredQueue/server', summary: 'REP, connects to the backend', args: (c) => [c.connect('backend'), '1'] },
      { name: 'monitor', script: 'monitoredQueue/monitor', summary: 'SUB to the monitor PUB, prints every frame', args: (c) => [c.connect('monitor')] },
      { name: 'client', script: 'monitoredQueue/client', instances: 2, summary: 'REQ, connects to the frontend', args: (c) => [c.connect('frontend'), String(c.instance), ms(c.intervalMs)] },
    ],
    observe: [{ kind: 'monitor', port: 'monitor', label: 'device monitor PUB', inPrefix: 'in', outPrefix: 'out' }],
  },
  {
    id: 'poller',
    title: 'Poller: control and data sockets',
    seed: SEED_LEARNING,
    description: `A worker polls a PULL control socket and a SUB data socket (topic 9) at once and stops when the control server sends "Exit". From "${SEED_LEARNING}", Polling and Sockets / ZMQ Poller.`,
    watchFor: 'The worker processes topic 9 between "Continue" commands and exits on "Exit"; restart the control server and the worker to replay.',
    ports: ['control', 'data'],
    roles: [
      { name: 'publisher', script: 'poller/publisher', summary: 'PUB, binds, topics 8 and 9', args: (c) => [c.bind('data'), '1', ms(c.intervalMs / 2)] },
      { name: 'worker', script: 'poller/worker', summary: 'polls PULL control + SUB data, stops on Exit', args: (c) => [c.connect('control'), c.connect('data'), '9'] },
      { name: 'control', script: 'poller/control', summary: 'PUSH, binds, sends Continue ×6 then Exit', args: (c) => [c.bind('control'), '6', ms(c.intervalMs)] },
    ],
    observe: [
      { kind: 'spy', port: 'data', label: 'publisher PUB (topics 8 and 9)' },
      { kind: 'tap', port: 'control', label: 'control PUSH → worker PULL' },
    ],
  },
];

/** The example with this id, or undefined. */
export function findExample(id: string): ExampleDefinition | undefined {
  return EXAMPLES.find((e) => e.id === id);
}

/** The example with this id; throws an error listing the known ids otherwise. */
export function getExample(id: string): ExampleDefinition {
  const found = findExample(id);
  if (!found) throw new Error(`Unknown example '${id}'. Known examples: ${EXAMPLES.map((e) => e.id).join(', ')}`);
  return found;
}
