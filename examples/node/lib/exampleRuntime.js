'use strict';
/**
 * What every example program shares, kept out of the examples so that they read
 * like the seed programs: positional arguments, pacing, and a clean stop.
 *
 * A stop (SIGTERM, SIGINT, or end of stdin when ZMQ_EXAMPLE_WATCH_STDIN=1, which
 * the example runner sets so that no example outlives the editor) closes every
 * tracked socket with linger 0 and exits with code 0.
 */

const cleanups = [];
let stopping = false;

/** The positional argument at `index` (0-based, after the script name), or `fallback`. */
function arg(index, fallback) {
  const value = process.argv[2 + index];
  return value === undefined || value === '' ? fallback : value;
}

/** A numeric positional argument; exits with code 2 and a clear message when it is not a number. */
function numArg(index, fallback) {
  const raw = arg(index, String(fallback));
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`argument ${index + 1} must be a non-negative number, got '${raw}'`);
    process.exit(2);
  }
  return value;
}

/** All positional arguments from `index` on. */
function restArgs(index) {
  return process.argv.slice(2 + index);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Registers a socket (or anything with close()) to close on stop; returns it. */
function track(closable) {
  cleanups.push(() => {
    if ('linger' in closable && !closable.closed) closable.linger = 0;
    closable.close();
  });
  return closable;
}

/** Registers a function to run on stop (before the tracked sockets close). */
function onStop(fn) {
  cleanups.unshift(fn);
}

function isStopping() {
  return stopping;
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // already closed
    }
  }
  process.exit(code);
}

/** Runs the example's main function; errors after a stop are the sockets closing, not failures. */
function run(main) {
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  if (process.env.ZMQ_EXAMPLE_WATCH_STDIN === '1') {
    process.stdin.on('end', () => stop(0));
    process.stdin.on('error', () => stop(0));
    process.stdin.resume();
  }
  main().then(
    () => stop(0),
    (err) => {
      if (stopping) return;
      console.error(err && err.stack ? err.stack : String(err));
      stop(1);
    },
  );
}

/** Printable text of a frame: UTF-8 when it is printable, else hex. */
function show(frame) {
  const text = frame.toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? text : `0x${frame.toString('hex')}`;
}

module.exports = { arg, numArg, restArgs, sleep, track, onStop, isStopping, stop, run, show };
