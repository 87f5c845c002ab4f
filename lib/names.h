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

/* Upstream's ValidateNonSpecialIP, which Service external IPs and endpoint
 * addresses pass: NULL for an address that may be used, else a new string
 * (free()) with upstream's message: "must be a valid IP address", "may not be
 * unspecified (<s>)", "may not be in the loopback range (127.0.0.0/8,
 * ::1/128)", "may not be in the link-local range (169.254.0.0/16,
 * fe80::/10)" or "may not be in the link-local multicast range (224.0.0.0/24,
 * ff02::/10)". IPv4-mapped IPv6 addresses are judged as the IPv4 address. */
char *names_check_nonspecial_ip(const char *s);

/* base + 5 random characters from upstream's alphabet
 * "bcdfghjklmnpqrstvwxz2456789"; base is cut to 58 characters first, as
 * upstream does, so a valid base gives a name within 63. New string, free(). */
char *names_generate(const char *base);

/* A random (version 4) UUID in its text form, as upstream's object UIDs:
 * "0f8fad5b-d9cb-469f-a165-70867728950e". Aborts rather than return a
 * predictable one if the kernel gives no randomness. New string, free(). */
char *names_uid_new(void);

#endif
