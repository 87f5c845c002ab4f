/* Declarations shared by nodectl's own files. Not a public interface. */
#ifndef MK_NODECTL_INTERNAL_H
#define MK_NODECTL_INTERNAL_H

struct globals {
	const char *root_dir;
	const char *registry_config;
};

/* node.c: the containers and pods of the node (crictl ps, pods, logs, inspect). */
int cmd_ps(const struct globals *g, int argc, char **argv);
int cmd_pods(const struct globals *g, int argc, char **argv);
int cmd_logs(const struct globals *g, int argc, char **argv);
int cmd_inspect(const struct globals *g, int argc, char **argv);

#endif
