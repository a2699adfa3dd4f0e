/**
 * Every command the extension contributes, in one typed list. A unit test holds
 * it against `contributes.commands` in package.json (both ways), and the
 * registry only takes ids from it, so a command cannot be registered without
 * being contributed, nor contributed without a handler.
 */
export const COMMAND_IDS = [
  'zmqDebugger.endpoint.add',
  'zmqDebugger.endpoint.remove',
  'zmqDebugger.endpoint.copy',
  'zmqDebugger.endpoint.spy',
  'zmqDebugger.endpoint.monitor',
  'zmqDebugger.endpoint.tap',
  'zmqDebugger.session.stop',
  'zmqDebugger.session.stopAll',
  'zmqDebugger.session.openFrames',
  'zmqDebugger.capture.export',
  'zmqDebugger.capture.import',
  'zmqDebugger.capture.clear',
  'zmqDebugger.frames.open',
  'zmqDebugger.topology.show',
  'zmqDebugger.topology.reveal',
  'zmqDebugger.doctor.open',
  'zmqDebugger.examples.run',
  'zmqDebugger.examples.stopRun',
  'zmqDebugger.examples.stopAll',
  'zmqDebugger.examples.stopProcess',
  'zmqDebugger.examples.restartProcess',
  'zmqDebugger.examples.showOutput',
  'zmqDebugger.discovery.rescan',
  'zmqDebugger.agent.observe',
  'zmqDebugger.agent.stopObserving',
  'zmqDebugger.log.show',
  'zmqDebugger.about.show',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];
