/* events-probe: records one Event N times through lib/events, as a
 * component repeating itself would, for tests/integration/apiserver-events.bats.
 *
 *   events-probe URL NAMESPACE POD-NAME POD-UID N
 *
 * Exits 0 once the N calls have returned (events are best effort: the
 * suite reads what the server has). */
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "client.h"
#include "events.h"

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: events-probe URL NAMESPACE POD-NAME POD-UID N\n");
		return 2;
	}
	cleanup_err struct mk_err *err = NULL;
	struct client *c = client_new(argv[1], NULL, &err);
	if (!c) {
		fprintf(stderr, "events-probe: %s\n", mk_err_msg(err));
		return 1;
	}
	cleanup_json json_t *pod = json_pack("{s:{s:s, s:s, s:s}}", "metadata", "namespace", argv[2],
					     "name", argv[3], "uid", argv[4]);
	int n = atoi(argv[5]);
	for (int i = 0; i < n; i++)
		events_post(c, "probe-controller", "Pod", "v1", pod, "Warning", "BackOff",
			    "Back-off restarting failed container %s", "web");
	client_free(c);
	return 0;
}
