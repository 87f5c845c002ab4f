/* Quantity parsing with exact integer arithmetic: the mantissa is kept as
 * 128-bit digits and scaled to milli-units by powers of 10 and 2. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"
#include "xalloc.h"

#define ERR_FORMAT                                                                                 \
	"quantities must match the regular expression "                                            \
	"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define ERR_SUFFIX "unable to parse quantity's suffix"

typedef unsigned __int128 u128;

/* Enough to hold 2^63 * 1000 with room; larger values are overflow anyway. */
static const u128 LIMIT = (u128)1 << 100;

struct suffix {
	const char *s;
	int base; /* 10 or 2 */
	int exp;  /* power of base */
};

static const struct suffix suffixes[] = {
	{"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"", 10, 0},   {"k", 10, 3},  {"M", 10, 6},
	{"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18}, {"Ki", 2, 10}, {"Mi", 2, 20},
	{"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parses an exponent suffix "e3", "E-2", "e+1"; false if not one. */
static bool parse_exponent(const char *s, int *exp)
{
	if (s[0] != 'e' && s[0] != 'E')
		return false;
	const char *p = s + 1;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!is_digit(*p))
		return false;
	long v = 0;
	for (; is_digit(*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > 1000)
			v = 1000; /* saturate: huge exponents overflow or round anyway */
	}
	if (*p)
		return false;
	*exp = (int)(neg ? -v : v);
	return true;
}

int quantity_parse_milli(const char *s, int64_t *milli, struct mk_err **err)
{
	const char *p = s;
	bool neg = false;
	if (!s || !*s)
		return mk_err_set(err, MK_EINVAL, ERR_FORMAT);
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';

	/* Mantissa digits; digits beyond what can matter are counted as scale. */
	u128 mant = 0;
	int scale10 = 0; /* value = mant * 10^scale10 * suffix */
	bool any = false, dot = false, big = false;
	for (; is_digit(*p) || *p == '.'; p++) {
		if (*p == '.') {
			if (dot)
				return mk_err_set(err, MK_EINVAL, ERR_FORMAT);
			dot = true;
			continue;
		}
		any = true;
		if (mant < LIMIT) {
			mant = mant * 10 + (u128)(*p - '0');
			if (dot)
				scale10--;
		} else {
			/* Dropped digit: only the fact that something non-zero was
			 * dropped matters for rounding up. */
			if (*p != '0')
				big = true;
			if (!dot)
				scale10++;
		}
	}
	if (!any)
		return mk_err_set(err, MK_EINVAL, ERR_FORMAT);

	/* The suffix is what is left: it must be one of the known forms. Check
	 * the character class of upstream's regex first for its message. */
	const char *suf = p;
	for (const char *q = suf; *q; q++)
		if (!strchr("eEinumkKMGTP+-0123456789", *q))
			return mk_err_set(err, MK_EINVAL, ERR_FORMAT);
	int base = 10, exp = 0;
	bool found = false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(suf, suffixes[i].s) == 0) {
			base = suffixes[i].base;
			exp = suffixes[i].exp;
			found = true;
			break;
		}
	}
	if (!found && !parse_exponent(suf, &exp))
		return mk_err_set(err, MK_EINVAL, ERR_SUFFIX);

	/* To milli-units: multiply by 1000 and the suffix, dividing last with
	 * rounding up so precision is never silently lost downward. */
	int pow10 = scale10 + 3 + (base == 10 ? exp : 0);
	int pow2 = base == 2 ? exp : 0;
	bool inexact = big;
	if (mant != 0) {
		for (; pow2 > 0; pow2--) {
			if (mant >= LIMIT)
				return mk_err_set(err, MK_EINVAL, "quantity %s is too large", s);
			mant <<= 1;
		}
		for (; pow10 > 0; pow10--) {
			if (mant >= LIMIT)
				return mk_err_set(err, MK_EINVAL, "quantity %s is too large", s);
			mant *= 10;
		}
		for (; pow10 < 0 && mant != 0; pow10++) {
			if (mant % 10)
				inexact = true;
			mant /= 10;
		}
		if (pow10 < 0 && mant == 0)
			inexact = true;
		if (inexact)
			mant += 1;
	} else if (big) {
		mant = 1;
	}
	if (mant > (u128)INT64_MAX)
		return mk_err_set(err, MK_EINVAL, "quantity %s is too large", s);
	*milli = neg ? -(int64_t)mant : (int64_t)mant;
	return 0;
}

char *quantity_format_milli(int64_t milli, bool binary)
{
	if (milli == 0)
		return xstrdup("0");
	/* Magnitude as unsigned so INT64_MIN works. */
	bool neg = milli < 0;
	uint64_t m = neg ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli;
	const char *sign = neg ? "-" : "";
	if (m % 1000)
		return xasprintf("%s%llum", sign, (unsigned long long)m);
	uint64_t v = m / 1000;
	if (binary && v >= 1024) {
		static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
		int i = 0;
		while (i < 6 && v % 1024 == 0) {
			v /= 1024;
			i++;
		}
		return xasprintf("%s%llu%s", sign, (unsigned long long)v, bin[i]);
	}
	static const char *const dec[] = {"", "k", "M", "G", "T", "P", "E"};
	int i = 0;
	while (i < 6 && v % 1000 == 0) {
		v /= 1000;
		i++;
	}
	return xasprintf("%s%llu%s", sign, (unsigned long long)v, dec[i]);
}
