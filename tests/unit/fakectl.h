/* fakectl.h - a fake daemon on a control socket of its own, for the tests
 * of the clients (-w, numad's options): it answers one connection. */
#ifndef KN_FAKECTL_H
#define KN_FAKECTL_H

#include <pthread.h>

struct fake {
	char dir[64];           /* the control directory (mkdtemp) */
	int fd;
	const char *reply;      /* NULL: accept, read, never answer (2 s) */
	char request[256];      /* what the client sent */
	pthread_t thread;
};

/* Listens on D->dir/CTL_SOCKET and answers one client with REPLY. */
void fake_start(struct fake *d, const char *reply);

/* Waits for the answer to be sent and removes the socket and directory. */
void fake_stop(struct fake *d);

#endif
