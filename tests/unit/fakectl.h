/* fakectl.h - a fake daemon on a control socket of its own, for the tests
 * of the clients (-w, numad's options): it answers one connection.
 *
 * Nothing here waits on a clock.  A fake that answers makes the client
 * wait for the answer however long the fake takes to be scheduled: the
 * test links with -Wl,--wrap=ctl_call, and the wrapper records the timeout
 * the client asked for and hands ctl_call a patience no scheduler reaches.
 * A fake that never answers keeps the client's own timeout and holds the
 * connection until the client hangs up. */
#ifndef KN_FAKECTL_H
#define KN_FAKECTL_H

#include <pthread.h>
#include <stdbool.h>

/* The timeout a call to an answering fake gets instead of the client's. */
#define FAKE_PATIENCE_MS 60000

struct fake {
	char dir[64];           /* the control directory (mkdtemp) */
	int fd;
	const char *reply;      /* NULL: accept, read, never answer */
	char request[256];      /* what the client sent */
	int asked_ms;           /* the timeout the client gave ctl_call; -1: no call */
	bool hung_up;           /* reply NULL: the client closed the connection */
	pthread_t thread;
};

/* Listens on D->dir/CTL_SOCKET and answers one client with REPLY. */
void fake_start(struct fake *d, const char *reply);

/* Waits for the answer to be sent (or, without one, for the client to hang
 * up) and removes the socket and directory. */
void fake_stop(struct fake *d);

#endif
