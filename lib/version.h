/* The Kubernetes version every mink8s component reports: the API server's
 * /version, and `--version` of each binary. */
#ifndef MK_VERSION_H
#define MK_VERSION_H

#define MK_VERSION_MAJOR "1"
#define MK_VERSION_MINOR "32"
#define MK_GIT_VERSION "v1.32.0-mink8s"

/* What upstream's binaries print for --version. */
#define MK_VERSION_LINE "Kubernetes " MK_GIT_VERSION "\n"

#endif
