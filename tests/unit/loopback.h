/*
 * loopback.h - test helpers: sockets bound to 127.0.0.1 on a port the kernel
 * picks, so parallel tests never collide. Include after <cmocka.h>.
 */
#ifndef SPANLOG_TEST_LOOPBACK_H
#define SPANLOG_TEST_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* A socket of `type` bound to 127.0.0.1:0; its port in *port. */
static inline int loopback_socket(int type, int *port)
{
    int s = socket(AF_INET, type, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return s;
}

#endif
