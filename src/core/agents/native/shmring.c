/*
 * The shared-memory hand-over: the reporter puts the wire frames it would write on the collector's socket into a
 * ring in a memfd the collector maps too (reads with pread, in fact), so the program's process never writes the
 * capture's bytes to a socket (a kernel copy and a loopback wake-up per batch, the program's own thread slowed with
 * them). docs/agent-protocol.md, "Shared ring".
 *
 * The ring is offered in the hello (`ring`: its descriptor number in this process, its size, a random nonce); the
 * collector opens it through /proc/<pid>/fd/<n> (the same user only), checks its header and says so in it
 * (`attached`). Until then the frames go on the socket; at the first round after it, the reporter sends a `ring`
 * report on the socket and from then on every frame goes in the ring, in order. No file name exists anywhere
 * (/dev/shm stays empty): whichever side dies, the kernel frees the memory with the last descriptor.
 *
 * One producer (the reporter's thread, or the Python agent's reporter, one at a time) and one consumer: the write
 * index is ours (a release store after the bytes), the read index the collector's; both count bytes ever, never
 * wrapping. A full ring takes nothing: the reports are dropped and counted like a full queue's, never waited for.
 * When the collector has read everything and the ring's end is past HOT_BYTES, a zero length (never a frame's) sends
 * the collector back to the ring's beginning: the writes stay on pages already touched and in the caches.
 */
#include "agent.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SHM_HEADER 4096u
#define SHM_BYTES (32u << 20) /* as the queue's bound: any report the queue holds fits */
/* header offsets: each index alone on its cache line, written by one side only */
#define AT_MAGIC 0    /* "ZMQDRING" */
#define AT_VERSION 8  /* u32 1 */
#define AT_BYTES 16   /* u64 the data's size */
#define AT_NONCE 24   /* 32 hex characters, as in the hello */
#define AT_WRITE 64   /* u64 bytes written ever (the agent) */
#define AT_READ 128   /* u64 bytes read ever (the collector) */
#define AT_ATTACHED 192 /* u64 non-zero once the collector has it (the collector) */

static int shm_fd = -1;
static unsigned char *shm_map;
static uint64_t shm_written;
static int shm_state; /* 0 none, 1 offered (frames on the socket), 2 on (frames in the ring) */
static char shm_nonce[33];

static _Atomic uint64_t *word(size_t at) { return (_Atomic uint64_t *)(void *)(shm_map + at); }

/* The collector's read index: read until two reads agree (it writes it with a plain pwrite), checked against ours;
   -1 when it makes no sense (the ring is then taken as full: nothing is written over what may be unread). */
static int64_t read_index(void) {
  uint64_t a = atomic_load_explicit(word(AT_READ), memory_order_acquire);
  for (int i = 0; i < 8; i++) {
    uint64_t b = atomic_load_explicit(word(AT_READ), memory_order_acquire);
    if (a == b) return a > shm_written || shm_written - a > SHM_BYTES ? -1 : (int64_t)a;
    a = b;
  }
  return -1;
}

/* ZMQ_DEBUG_AGENT_SHM=1: the ring offered. Not by default: it captures what the socket does (a full ring leaves the
   rest in the queue for the next try), but on this machine it took no CPU off the program (paced 1 KiB at 100,000
   msg/s: 2.58 µs a message against 2.59; docs/performance.md, "Shared-memory hand-over"). */
static int shm_wanted(void) {
  const char *e = getenv("ZMQ_DEBUG_AGENT_SHM");
  return e && e[0] == '1';
}

int shm_offer(void) {
  if (!shm_wanted()) return -1;
  if (shm_fd < 0) {
    /* syscall(): no symbol of a newer C library than the rest of the agent needs */
    int fd = (int)syscall(SYS_memfd_create, "zmq-debug-ring", 1u /* MFD_CLOEXEC */);
    if (fd < 0) return -1;
    void *m = ftruncate(fd, SHM_HEADER + SHM_BYTES) == 0 ? mmap(NULL, SHM_HEADER + SHM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (m == MAP_FAILED) {
      close(fd);
      return -1;
    }
    shm_fd = fd;
    shm_map = m;
  }
  unsigned char raw[16];
  if (syscall(SYS_getrandom, raw, sizeof raw, 0) != (long)sizeof raw) return -1;
  for (int i = 0; i < 16; i++) {
    shm_nonce[2 * i] = "0123456789abcdef"[raw[i] >> 4];
    shm_nonce[2 * i + 1] = "0123456789abcdef"[raw[i] & 15];
  }
  shm_nonce[32] = 0;
  /* a new connection, a new ring: whoever had it before (a collector gone) reads it no more */
  memcpy(shm_map + AT_MAGIC, "ZMQDRING", 8);
  uint32_t version = 1;
  uint64_t bytes = SHM_BYTES;
  memcpy(shm_map + AT_VERSION, &version, 4);
  memcpy(shm_map + AT_BYTES, &bytes, 8);
  memcpy(shm_map + AT_NONCE, shm_nonce, 32);
  shm_written = 0;
  atomic_store(word(AT_WRITE), 0);
  atomic_store(word(AT_READ), 0);
  atomic_store(word(AT_ATTACHED), 0);
  shm_state = 1;
  return shm_fd;
}

const char *shm_offer_nonce(void) { return shm_nonce; }
size_t shm_bytes(void) { return SHM_BYTES; }

int shm_on(void) { return shm_state == 2; }

int shm_attached(void) { return shm_state == 1 && atomic_load_explicit(word(AT_ATTACHED), memory_order_acquire) != 0; }

void shm_switch_on(void) {
  if (shm_state == 1) shm_state = 2;
}

int shm_switch(int fd) {
  if (!shm_attached()) return 1;
  static const unsigned char marker[] = "\0\0\0\x10J{\"type\":\"ring\"}";
  if (!send_fd(fd, marker, sizeof marker - 1)) return 0;
  shm_state = 2;
  return 1;
}

size_t shm_room(void) {
  int64_t read = shm_state == 2 ? read_index() : -1;
  return read < 0 ? 0 : SHM_BYTES - (size_t)(shm_written - (uint64_t)read);
}

int shm_put_runs(const struct run *r, int k) {
  if (shm_state != 2) return 0;
  size_t n = 0;
  for (int i = 0; i < k; i++) n += r[i].n;
  int64_t read = read_index();
  if (read < 0) return 0;
  size_t at = (size_t)(shm_written % SHM_BYTES);
  unsigned char *data = shm_map + SHM_HEADER;
  if ((uint64_t)read == shm_written && at >= HOT_BYTES && at <= SHM_BYTES - 4 && n <= at) {
    /* all read: a zero length sends the collector back to the beginning, and the writes with it */
    memset(data + at, 0, 4);
    shm_written += SHM_BYTES - at;
    at = 0;
  }
  if (shm_written + n - (uint64_t)read > SHM_BYTES) return 0;
  for (int i = 0; i < k; i++) {
    size_t first = r[i].n < SHM_BYTES - at ? r[i].n : SHM_BYTES - at;
    memcpy(data + at, r[i].p, first);
    memcpy(data, r[i].p + first, r[i].n - first);
    at = (at + r[i].n) % SHM_BYTES;
  }
  shm_written += n;
  atomic_store_explicit(word(AT_WRITE), shm_written, memory_order_release);
  return 1;
}

int shm_peer_gone(int fd) {
  if (shm_state != 2 || fd < 0) return 0;
  /* the collector never writes on the socket: readable means closed */
  char c;
  ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
  return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The child of a fork: the mapping is shared with the parent's ring; the child makes its own at its first connect. */
void shm_after_fork(void) {
  if (shm_map) munmap(shm_map, SHM_HEADER + SHM_BYTES);
  if (shm_fd >= 0) close(shm_fd);
  shm_map = NULL;
  shm_fd = -1;
  shm_state = 0;
  shm_written = 0;
}

/* ---- the Python agent's reporter (native.py) ---- */

/* A new connection's ring: its descriptor (-1: none, frames on the socket); the nonce and size for the hello. */
EXPORT int zmq_debug_agent_ring_offer(char *nonce, size_t *bytes) {
  int fd = shm_offer();
  if (fd >= 0) {
    memcpy(nonce, shm_nonce, 33);
    *bytes = SHM_BYTES;
  }
  return fd;
}
/* 1 when the collector attached the ring and the Python agent is to send the `ring` report, then call ring_on */
EXPORT int zmq_debug_agent_ring_attached(void) { return shm_attached(); }
EXPORT void zmq_debug_agent_ring_on(void) { shm_switch_on(); }
/* 1 written in the ring, 0 full (nothing written), -1 the ring is not on (the caller sends on the socket) */
EXPORT int zmq_debug_agent_ring_put(const unsigned char *p, size_t n) {
  if (!shm_on()) return -1;
  struct run r = {p, n};
  return shm_put_runs(&r, 1);
}
EXPORT int zmq_debug_agent_ring_gone(int fd) { return shm_peer_gone(fd); }
