/*
 * The tap bench's ceiling: the cheapest relay there is, one more TCP hop and
 * nothing else (no ZMTP decoding, no capture). Listens on 127.0.0.1 (an
 * ephemeral port, printed as "port N"), relays every accepted connection to
 * 127.0.0.1:TARGET with one thread per direction, each a blocking read/write
 * loop over a 256 KiB buffer (the tap's read size), TCP_NODELAY on both sides
 * as the tap sets it. Bench-only code, not part of the product.
 * Usage: tcp_relay TARGET_PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_BYTES (256 * 1024)

static int target_port;

struct pipe_ends {
  int from, to;
};

static void *copy(void *arg) {
  struct pipe_ends *p = arg;
  char *buf = malloc(BUF_BYTES);
  for (;;) {
    ssize_t n = read(p->from, buf, BUF_BYTES);
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(p->to, buf + off, (size_t)(n - off));
      if (w <= 0) goto done;
      off += w;
    }
  }
done:
  shutdown(p->to, SHUT_WR);
  free(buf);
  return NULL;
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void *relay(void *arg) {
  int client = (int)(long)arg;
  int target = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)target_port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(target, (struct sockaddr *)&to, sizeof to) != 0) {
    close(client);
    close(target);
    return NULL;
  }
  nodelay(client);
  nodelay(target);
  struct pipe_ends up = {client, target}, down = {target, client};
  pthread_t t;
  pthread_create(&t, NULL, copy, &down);
  copy(&up);
  pthread_join(t, NULL);
  close(client);
  close(target);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: tcp_relay TARGET_PORT\n");
    return 2;
  }
  target_port = atoi(argv[1]);
  int server = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = 0};
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  if (bind(server, (struct sockaddr *)&at, sizeof at) != 0 || listen(server, 16) != 0 || getsockname(server, (struct sockaddr *)&at, &len) != 0) {
    perror("tcp_relay");
    return 1;
  }
  printf("port %d\n", ntohs(at.sin_port));
  fflush(stdout);
  for (;;) {
    int client = accept(server, NULL, NULL);
    if (client < 0) continue;
    pthread_t t;
    pthread_create(&t, NULL, relay, (void *)(long)client);
    pthread_detach(t);
  }
}
