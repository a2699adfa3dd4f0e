//  Weather update server in C: binds PUB socket to tcp://*:5556
#include <zmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>

#define SYNC_PORT 5562

int main (void)
{
    void *context = zmq_ctx_new ();
    void *publisher = zmq_socket (context, ZMQ_PUB);
    int rc = zmq_bind (publisher, "tcp://*:5556");
    assert (rc == 0);

    /* zmq_bind (publisher, "tcp://*:9200"); would also work */
    void *syncservice = zmq_socket (context, ZMQ_REP);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://*:%d", SYNC_PORT);
    zmq_bind (syncservice, endpoint);

    while (1) {
        char update [20];
        sprintf (update, "%05d %d", rand () % 100000, rand () % 215 - 80);
        zmq_send (publisher, update, strlen (update), 0);
    }
    zmq_close (publisher);
    zmq_ctx_destroy (context);
    return 0;
}
