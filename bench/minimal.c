/* minimal.c: the yardstick for "make bench". The smallest useful FastCGI
 * responder: libfcgi's reentrant API, one json-c object, no database, the
 * same pre-fork shape as vigil-api. Vigil's numbers are reported as a
 * ratio to this one, measured in the same run on the same machine. */
#include "vigil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <json-c/json.h>

static void
serve(int fd)
{
	FCGX_Request req;
	char head[256];

	FCGX_InitRequest(&req, fd, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		json_object *o = json_object_new_object();
		const char *s;
		size_t len;

		json_object_object_add(o, "status",
		    json_object_new_string("ok"));
		s = json_object_to_json_string_length(o,
		    JSON_C_TO_STRING_PLAIN, &len);
		snprintf(head, sizeof(head), "Status: 200 OK\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n", len);
		FCGX_PutS(head, req.out);
		FCGX_PutStr(s, (int)len, req.out);
		json_object_put(o);
		FCGX_Finish_r(&req);
	}
}

int
main(int argc, char *argv[])
{
	int fd, i, n;

	if (argc != 3) {
		fprintf(stderr, "usage: bench-minimal ADDR WORKERS\n");
		return 2;
	}
	n = (int)strtol(argv[2], NULL, 10);
	if (n < 1 || n > 64)
		return 2;
	FCGX_Init();
	if ((fd = FCGX_OpenSocket(argv[1], 128)) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++)
		if (fork() == 0) {
			serve(fd);
			_exit(0);
		}
	while (wait(NULL) > 0)
		;
	return 0;
}
