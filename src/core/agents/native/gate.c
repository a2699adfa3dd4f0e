/*
 * The sampling gate (a token bucket every wrapper takes from before it records a message) and the drop counts: what
 * the gate or a full queue did not let through, counted per thread.
 */
#include "agent.h"

#include <stdlib.h>
#include <time.h>

static long gate_per_tick = 12500;
static long gate_burst = 50000;
atomic_long gate_tokens;
struct drop_slot drop_slots[DROP_SLOTS] __attribute__((aligned(64)));
TLS struct drop_slot *my_drops;
static atomic_uint next_drop_slot;

struct drop_slot *claim_drop_slot(void) { return &drop_slots[atomic_fetch_add(&next_drop_slot, 1) % DROP_SLOTS]; }

unsigned long total_dropped(void) {
  unsigned long sum = 0;
  for (int i = 0; i < DROP_SLOTS; i++) sum += atomic_load_explicit(&drop_slots[i].n, memory_order_relaxed);
  return sum;
}

void reset_dropped(void) {
  for (int i = 0; i < DROP_SLOTS; i++) atomic_store(&drop_slots[i].n, 0);
}

static atomic_long gate_refilled_ns; /* CLOCK_MONOTONIC of the last refill */

static long monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/*
 * The gate's refill, by whichever thread finds the bucket empty (and the reporter every round): the tokens of the
 * time since the last refill, at most 4 ticks' worth saved. It does not wait for the reporter's round (the reporter
 * may be short of CPU for a while); but tokens never exceed a tick's worth less the reports not yet sent: a collector
 * that does not keep up makes the gate, not the queue, drop and count, and what a process exiting loses unsent (its
 * reporter has 1 s to send the rest) stays within a tick.
 */
/*
 * Adopting (a pyzmq program): a program that wanted more messages than the gate's rate (taken and dropped, over the
 * last tick or more) is above the rate captured whole and is sampled at SAMPLE_PER_TICK (5,000 messages a second, the
 * Python agent's own default) until a second after it last was: a program flat out then gives the collector little
 * to do, and the collector does not take the CPU the program runs on; one below the gate (100,000 msg/s against
 * 250,000) is captured whole, also while the collector is slow.
 */
#define SAMPLE_PER_TICK 250
atomic_long gate_taken;
static atomic_long gate_over_ns, rate_from_ns;
static long rate_taken;
static unsigned long rate_dropped;

static void gate_rate(long now) {
  long from = atomic_load_explicit(&rate_from_ns, memory_order_relaxed);
  if (now - from < TICK_MS * 1000000L || !atomic_compare_exchange_strong(&rate_from_ns, &from, now)) return;
  long taken = atomic_load_explicit(&gate_taken, memory_order_relaxed);
  unsigned long dropped = total_dropped();
  double wanted = (double)(taken - rate_taken) + (double)(dropped - rate_dropped);
  rate_taken = taken;
  rate_dropped = dropped;
  if (from && wanted > (double)gate_per_tick * (double)(now - from) / (TICK_MS * 1e6)) atomic_store(&gate_over_ns, now);
}

void gate_refill(void) {
  long now = monotonic_ns(), last = atomic_load_explicit(&gate_refilled_ns, memory_order_relaxed);
  long per_tick = gate_per_tick;
  if (atomic_load_explicit(&adopting, memory_order_relaxed) && per_tick > SAMPLE_PER_TICK) {
    gate_rate(now);
    if (now - atomic_load_explicit(&gate_over_ns, memory_order_relaxed) < 1000000000L) per_tick = SAMPLE_PER_TICK;
  }
  long add = (long)((double)per_tick * (double)(now - last) / (TICK_MS * 1e6));
  if (add < 1 || !atomic_compare_exchange_strong(&gate_refilled_ns, &last, now)) return;
  /* adopting: the Python agent's reporter, a thread that waits for the GIL, may be late a few ticks */
  long room = (atomic_load_explicit(&adopting, memory_order_relaxed) ? gate_burst : gate_per_tick) -
              (long)atomic_load_explicit(&q_unsent, memory_order_relaxed);
  long cur = atomic_load(&gate_tokens), next;
  do {
    next = cur + add > gate_burst ? gate_burst : cur + add;
    if (next > room) next = room;
    if (next < cur) next = cur;
  } while (!atomic_compare_exchange_weak(&gate_tokens, &cur, next));
}

/* ZMQ_DEBUG_AGENT_GATE (reports a tick; 0: the default); the bucket full. */
void gate_init(long per_tick) {
  if (per_tick > 0) {
    gate_per_tick = per_tick;
    if (gate_burst < gate_per_tick) gate_burst = gate_per_tick;
  }
  gate_full();
  atomic_store(&gate_refilled_ns, monotonic_ns());
}

/* The bucket full (a new process, after a fork). */
void gate_full(void) { atomic_store(&gate_tokens, gate_burst); }
