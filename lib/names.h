/* Object name rules and generated names, with upstream's validation messages. */
#ifndef MK_NAMES_H
#define MK_NAMES_H

#include <stdbool.h>

/* DNS-1123 subdomain (object names of most kinds): at most 253 characters of
 * [a-z0-9.-], dot-separated labels starting and ending alphanumeric.
 * Returns NULL if valid, else upstream's message (static string; when both
 * rules fail, the length message). */
const char *names_check_dns1123_subdomain(const char *s);

/* DNS-1123 label (namespaces, services, container names): at most 63
 * characters of [a-z0-9-], starting and ending alphanumeric. NULL or a static
 * message as above. */
const char *names_check_dns1123_label(const char *s);

/* Label or annotation key: optional DNS-1123 subdomain prefix and "/", then a
 * name of at most 63 characters of [A-Za-z0-9_.-] starting and ending
 * alphanumeric. Returns NULL if valid, else a new string (free()) holding
 * upstream's messages joined by "; ". */
char *names_check_qualified_name(const char *s);

/* Label value: empty, or at most 63 characters of [A-Za-z0-9_.-] starting and
 * ending alphanumeric. NULL or a new string (free()) with upstream's
 * messages joined by "; ". */
char *names_check_label_value(const char *s);

/* base + 5 random characters from upstream's alphabet
 * "bcdfghjklmnpqrstvwxz2456789"; base is cut to 58 characters first, as
 * upstream does, so a valid base gives a name within 63. New string, free(). */
char *names_generate(const char *base);

#endif
