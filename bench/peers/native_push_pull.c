/*
 * The native agent's benchmark peer: PUSH (a thread) → PULL (main) over
 * tcp://127.0.0.1:0 in one process on Debian's libzmq, COUNT messages of SIZE
 * bytes, as fast as they go or at RATE messages a second (paced by the clock).
 * Prints "RATE <messages a second the PULL received>".
 * Usage: native_push_pull COUNT SIZE [RATE]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static void *ctx;
static char endpoint[256];
static long count, size;
static double rate;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void *pusher(void *arg) {
  (void)arg;
  void *push = zmq_socket(ctx, ZMQ_PUSH);
  zmq_connect(push, endpoint);
  char *buf = calloc(1, (size_t)size);
  double start = now();
  for (long i = 0; i < count; i++) {
    if (rate > 0) {
      double due = start + i / rate;
      while (now() < due) {
      }
    }
    memcpy(buf, &i, size < (long)sizeof i ? (size_t)size : sizeof i);
    if (zmq_send(push, buf, (size_t)size, 0) != size) exit(3);
  }
  zmq_close(push);
  free(buf);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  count = atol(argv[1]);
  size = atol(argv[2]);
  rate = argc > 3 ? atof(argv[3]) : 0;
  ctx = zmq_ctx_new();
  void *pull = zmq_socket(ctx, ZMQ_PULL);
  if (zmq_bind(pull, "tcp://127.0.0.1:0") != 0) return 3;
  size_t n = sizeof endpoint;
  zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, endpoint, &n);
  pthread_t t;
  pthread_create(&t, NULL, pusher, NULL);
  char *buf = malloc((size_t)size + 1);
  double start = 0;
  for (long i = 0; i < count; i++) {
    if (zmq_recv(pull, buf, (size_t)size + 1, 0) != size) return 4;
    if (i == 0) start = now();
  }
  double took = now() - start;
  pthread_join(t, NULL);
  printf("RATE %.0f\n", (count - 1) / took);
  zmq_close(pull);
  zmq_ctx_term(ctx);
  return 0;
}
