/* sha2: FIPS 180-4 test vectors, including messages whose padding needs a
 * second block and one of many blocks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha2.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static char *million_a(void)
{
	char *m = malloc(1000000);
	assert_non_null(m);
	memset(m, 'a', 1000000);
	return m;
}

static void test_sha256(void **state)
{
	(void)state;
	static const struct {
		const char *in, *hex;
	} v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		/* 56 bytes: the length no longer fits the first block */
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	uint8_t d[SHA256_DIGEST_LEN];
	char h[2 * SHA256_DIGEST_LEN + 1];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha2_256(v[i].in, strlen(v[i].in), d);
		hex(d, sizeof(d), h);
		assert_string_equal(h, v[i].hex);
	}
	char *m = million_a();
	sha2_256(m, 1000000, d);
	free(m);
	hex(d, sizeof(d), h);
	assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha512(void **state)
{
	(void)state;
	static const struct {
		const char *in, *hex;
	} v[] = {
		{"", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		     "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
		{"abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
		/* 112 bytes: the length no longer fits the first block */
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
		 "klmnopqrlmnopqrsmnopqrstnopqrstu",
		 "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
		 "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"},
	};
	uint8_t d[SHA512_DIGEST_LEN];
	char h[2 * SHA512_DIGEST_LEN + 1];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha2_512(v[i].in, strlen(v[i].in), d);
		hex(d, sizeof(d), h);
		assert_string_equal(h, v[i].hex);
	}
	char *m = million_a();
	sha2_512(m, 1000000, d);
	free(m);
	hex(d, sizeof(d), h);
	assert_string_equal(h, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
			       "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
	/* the hex prefix the CNI bridge names its chains with */
	char pre[25];
	sha2_512_hex("abc", 3, 12, pre);
	assert_string_equal(pre, "ddaf35a193617abacc417349");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_sha512),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
