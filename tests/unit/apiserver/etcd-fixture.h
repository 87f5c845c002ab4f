/* A throwaway etcd member for unit tests: Debian's etcd on free loopback
 * ports with a temporary data directory, stopped by PID. Static functions,
 * included by the test programs that need one. */
#ifndef MK_TEST_ETCD_FIXTURE_H
#define MK_TEST_ETCD_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"
#include "xalloc.h"

struct etcd_proc {
	pid_t pid;
	char *dir;
	char *url;  /* client URL */
	char *peer; /* peer URL */
	char *name;
};

/* A port that was free a moment ago on 127.0.0.1. */
static int fixture_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static bool fixture_have_etcd(void)
{
	return access("/usr/bin/etcd", X_OK) == 0;
}

static void fixture_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Runs etcd (again, on the same directory and ports, when e->dir is set).
 * Returns 0 once it answers, -1 if it did not within 20 s. */
static int etcd_proc_start(struct etcd_proc *e)
{
	if (!e->dir) {
		e->dir = xstrdup("/tmp/mk-etcd-test-XXXXXX");
		if (!mkdtemp(e->dir))
			return -1;
		e->url = xasprintf("http://127.0.0.1:%d", fixture_free_port());
		e->peer = xasprintf("http://127.0.0.1:%d", fixture_free_port());
		e->name = xstrdup("m1");
	}
	char *data = xasprintf("%s/data", e->dir);
	char *logf = xasprintf("%s/log", e->dir);
	char *cluster = xasprintf("%s=%s", e->name, e->peer);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/bin/etcd", "etcd", "--name", e->name, "--data-dir", data,
		      "--listen-client-urls", e->url, "--advertise-client-urls", e->url,
		      "--listen-peer-urls", e->peer, "--initial-advertise-peer-urls", e->peer,
		      "--initial-cluster", cluster, (char *)NULL);
		_exit(127);
	}
	free(data);
	free(logf);
	free(cluster);
	if (pid < 0)
		return -1;
	e->pid = pid;
	struct etcd_config cfg = {.endpoints = e->url};
	struct etcd_client *c = etcd_client_new(&cfg, NULL);
	int rc = -1;
	for (int i = 0; c && i < 400; i++) {
		json_t *req = json_object();
		json_t *resp = etcd_call(c, "maintenance/status", req, ETCD_IDEMPOTENT, NULL);
		json_decref(req);
		if (resp) {
			json_decref(resp);
			rc = 0;
			break;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			e->pid = 0;
			break;
		}
		fixture_sleep_ms(50);
	}
	etcd_client_free(c);
	return rc;
}

/* Stops the process (signal sig), keeping its data. */
static void etcd_proc_kill(struct etcd_proc *e, int sig)
{
	if (e->pid > 0) {
		kill(e->pid, sig);
		waitpid(e->pid, NULL, 0);
		e->pid = 0;
	}
}

static int fixture_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void etcd_proc_stop(struct etcd_proc *e)
{
	etcd_proc_kill(e, SIGTERM);
	if (e->dir)
		nftw(e->dir, fixture_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(e->dir);
	free(e->url);
	free(e->peer);
	free(e->name);
	memset(e, 0, sizeof(*e));
}

#endif
