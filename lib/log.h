/* klog-style log lines on stderr:
 *   I1123 06:40:17.589054    4553 file.c:123] message
 * Severity letters I, W, E, F. Info lines at verbosity > log_verbosity are dropped,
 * like upstream's -v=N. The only module of lib/ that writes output, and only when
 * a daemon calls it. */
#ifndef MK_LOG_H
#define MK_LOG_H

extern int log_verbosity;

void log_line(char severity, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_info(...) log_line('I', __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_line('W', __FILE__, __LINE__, __VA_ARGS__)
#define log_error(...) log_line('E', __FILE__, __LINE__, __VA_ARGS__)
/* Info at verbosity v: printed only when -v >= v. */
#define log_v(v, ...)                                              \
	do {                                                       \
		if (log_verbosity >= (v))                          \
			log_line('I', __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

/* Parses "-v=N", "--v=N", "-v N" style values; returns -1 if not a number. */
int log_parse_verbosity(const char *s);

#endif
