/* check_azure.c: the pure parts of the Azure connector — URLs and ids,
 * list pages, token and error bodies, Retry-After and backoff — and its
 * configuration checks. The HTTP side is driven against the fake ARM
 * server (tests/integration/fakearm.py). */
#include "vigil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "azure.h"
#include "buf.h"
#include "connector.h"
#include "suites.h"

START_TEST(test_azure_api_table)
{
	static const char *const want[] = {
		"Microsoft.Network/networkSecurityGroups",
		"Microsoft.Storage/storageAccounts",
		"Microsoft.KeyVault/vaults",
		"Microsoft.Sql/servers",
		"Microsoft.Web/sites",
		"Microsoft.Compute/virtualMachines",
	};
	size_t	 i;

	/* The connector lists exactly these types, each with an API
	 * version ARM accepts. */
	ck_assert_uint_eq(azure_napis, NELEM(want));
	for (i = 0; i < NELEM(want); i++) {
		ck_assert_str_eq(azure_apis[i].type, want[i]);
		ck_assert_msg(azure_valid_api_version(azure_apis[i].api_version),
		    "%s", want[i]);
	}
}
END_TEST

START_TEST(test_azure_ids)
{
	static const struct {
		const char	*s;
		int		 seg, rid, api;
	} t[] = {
		{ "00000000-0000-0000-0000-000000000001", 1, 0, 0 },
		{ "contoso.onmicrosoft.com", 1, 0, 0 },
		{ "a_b-c.d", 1, 0, 0 },
		{ "", 0, 0, 0 },
		{ ".", 0, 0, 0 },
		{ "..", 0, 0, 0 },
		{ "a/b", 0, 0, 0 },
		{ "a b", 0, 0, 0 },
		{ "a?b", 0, 0, 0 },
		{ "a%2fb", 0, 0, 0 },
		{ "/subscriptions/s1/resourceGroups/rg/providers/"
		    "Microsoft.Sql/servers/sql1", 0, 1, 0 },
		{ "/SUBSCRIPTIONS/s1/resourceGroups/rg", 0, 1, 0 },
		{ "/subscriptions/s1/resourceGroups/rg/", 0, 0, 0 },
		{ "/subscriptions/s1//resourceGroups", 0, 0, 0 },
		{ "/subscriptions/s1/../s2", 0, 0, 0 },
		{ "/subscriptions/s1/./x", 0, 0, 0 },
		{ "/subscriptions/s1/x?api-version=1", 0, 0, 0 },
		{ "/subscriptions/s1/x#f", 0, 0, 0 },
		{ "/subscriptions/s1/a%2f..", 0, 0, 0 },
		{ "/subscriptions/s1/a b", 0, 0, 0 },
		{ "/subscriptions/s1/a\nb", 0, 0, 0 },
		{ "/subscriptions/s1/a\\b", 0, 0, 0 },
		{ "/providers/Microsoft.Foo/x", 0, 0, 0 },
		{ "https://evil/subscriptions/s1", 0, 0, 0 },
		{ "2023-05-01", 1, 0, 1 },
		{ "2021-11-01-preview", 1, 0, 1 },
		{ "2023-05-0", 1, 0, 0 },
		{ "2023-05-01&x=1", 0, 0, 0 },
		{ "2023-05-01 ", 0, 0, 0 },
		{ "preview-2023", 1, 0, 0 },
	};
	size_t	 i;

	for (i = 0; i < NELEM(t); i++) {
		ck_assert_msg(azure_valid_segment(t[i].s) == t[i].seg,
		    "segment %s", t[i].s);
		ck_assert_msg(azure_valid_resource_id(t[i].s) == t[i].rid,
		    "resource id %s", t[i].s);
		ck_assert_msg(azure_valid_api_version(t[i].s) == t[i].api,
		    "api-version %s", t[i].s);
	}
	ck_assert_int_eq(azure_valid_segment(NULL), 0);
	ck_assert_int_eq(azure_valid_resource_id(NULL), 0);
	ck_assert_int_eq(azure_valid_api_version(NULL), 0);
}
END_TEST

START_TEST(test_azure_base_origin)
{
	static const struct {
		const char	*url;
		int		 ok;
	} base[] = {
		{ "https://management.azure.com", 0 },
		{ "https://management.usgovcloudapi.net/", 0 },
		{ "https://login.microsoftonline.com", 0 },
		{ "https://arm.example:8443/prefix", 0 },
		{ "http://127.0.0.1:8080", 0 },
		{ "http://127.0.0.1", 0 },
		{ "http://localhost:9", 0 },
		{ "http://[::1]:9000", 0 },
		{ "http://management.azure.com", -1 },	/* plain, remote */
		{ "http://127.0.0.10:80", -1 },
		{ "http://127.0.0.1.evil.com", -1 },
		{ "http://localhost.evil.com", -1 },
		{ "http://[::1].x", -1 },
		{ "https://user:pw@management.azure.com", -1 },
		{ "https://management.azure.com?x=1", -1 },
		{ "https://management.azure.com#f", -1 },
		{ "https://", -1 },
		{ "ftp://management.azure.com", -1 },
		{ "file:///etc/passwd", -1 },
		{ "management.azure.com", -1 },
		{ "https://management.azure.com /x", -1 },
		{ "", -1 },
	};
	static const struct {
		const char	*base, *url;
		int		 same;
	} so[] = {
		{ "https://management.azure.com",
		    "https://management.azure.com/subscriptions/x?a=1", 1 },
		{ "https://management.azure.com",
		    "https://MANAGEMENT.azure.com/subscriptions/x", 1 },
		{ "http://127.0.0.1:8080", "http://127.0.0.1:8080/x", 1 },
		{ "http://127.0.0.1:8080", "http://127.0.0.1:8081/x", 0 },
		{ "https://management.azure.com",
		    "http://management.azure.com/x", 0 },
		{ "https://management.azure.com",
		    "https://management.azure.com.evil.com/x", 0 },
		{ "https://management.azure.com",
		    "https://management.azure.com@evil.com/x", 0 },
		{ "https://management.azure.com",
		    "https://management.azure.com", 0 },
		{ "https://management.azure.com",
		    "https://management.azure.com?x", 0 },
		{ "https://management.azure.com", "/subscriptions/x", 0 },
		{ "https://management.azure.com", "", 0 },
	};
	char	 err[160];
	size_t	 i;

	for (i = 0; i < NELEM(base); i++) {
		err[0] = '\0';
		ck_assert_msg(azure_base_ok(base[i].url, err, sizeof(err)) ==
		    base[i].ok, "base %s", base[i].url);
		if (base[i].ok == -1)
			ck_assert(err[0] != '\0');
	}
	ck_assert_int_eq(azure_base_ok(NULL, err, sizeof(err)), -1);
	for (i = 0; i < NELEM(so); i++)
		ck_assert_msg(azure_same_origin(so[i].base, so[i].url) ==
		    so[i].same, "%s vs %s", so[i].base, so[i].url);
}
END_TEST

START_TEST(test_azure_urls)
{
	struct buf	 b;

	buf_init(&b, 200);
	ck_assert_int_eq(azure_token_url(&b, "https://login.microsoftonline.com",
	    "tid"), 0);
	ck_assert_str_eq(b.data,
	    "https://login.microsoftonline.com/tid/oauth2/v2.0/token");
	ck_assert_int_eq(azure_list_url(&b, "https://management.azure.com",
	    "s1", "Microsoft.KeyVault/vaults", "2023-07-01"), 0);
	ck_assert_str_eq(b.data, "https://management.azure.com/subscriptions/"
	    "s1/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01");
	ck_assert_int_eq(azure_resource_url(&b, "http://127.0.0.1:1",
	    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/"
	    "servers/q", "/firewallRules", "2021-11-01"), 0);
	ck_assert_str_eq(b.data, "http://127.0.0.1:1/subscriptions/s1/"
	    "resourceGroups/rg/providers/Microsoft.Sql/servers/q/"
	    "firewallRules?api-version=2021-11-01");
	ck_assert_int_eq(azure_resource_url(&b, "http://127.0.0.1:1",
	    "/subscriptions/s1/x", NULL, "2021-11-01"), 0);
	ck_assert_str_eq(b.data,
	    "http://127.0.0.1:1/subscriptions/s1/x?api-version=2021-11-01");
	buf_free(&b);
	/* A URL over the buffer's cap fails rather than being cut. */
	buf_init(&b, 40);
	ck_assert_int_eq(azure_list_url(&b, "https://management.azure.com",
	    "s1", "Microsoft.KeyVault/vaults", "2023-07-01"), -1);
	buf_free(&b);
}
END_TEST

START_TEST(test_azure_retry_after)
{
	static const struct {
		const char	*v;
		long		 want;
	} t[] = {
		{ "5", 5 },
		{ "0", 0 },
		{ " 7 ", 7 },
		{ "30", 30 },
		{ "31", 30 },
		{ "86400", 30 },
		{ "99999999999999999999999", 30 },
		{ "", -1 },
		{ "   ", -1 },
		{ "abc", -1 },
		{ "5x", -1 },
		{ "-5", -1 },
		{ "1.5", -1 },
		/* now is Sun, 06 Nov 1994 08:49:37 GMT */
		{ "Sun, 06 Nov 1994 08:49:47 GMT", 10 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 0 },
		{ "Sun, 06 Nov 1994 08:40:00 GMT", 0 },
		{ "Mon, 07 Nov 1994 08:49:37 GMT", 30 },
		{ "Sunday, 06-Nov-94 08:49:57 GMT", 20 },
		{ "not a date, 06 Nov 1994", -1 },
	};
	time_t	 now = 784111777;
	size_t	 i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(azure_retry_after(t[i].v, now, 30) == t[i].want,
		    "%s: got %ld want %ld", t[i].v,
		    azure_retry_after(t[i].v, now, 30), t[i].want);
	ck_assert_int_eq(azure_retry_after(NULL, now, 30), -1);
	ck_assert_int_eq(azure_retry_after("100", now, 120), 100);
}
END_TEST

START_TEST(test_azure_backoff_retryable)
{
	static const long	 ms[] = { 500, 1000, 2000, 4000, 8000, 16000,
	    30000, 30000 };
	static const struct {
		long	 status;
		int	 retry;
	} t[] = {
		{ 0, 1 }, { 200, 0 }, { 201, 0 }, { 204, 0 }, { 400, 0 },
		{ 401, 0 }, { 403, 0 }, { 404, 0 }, { 408, 1 }, { 409, 0 },
		{ 429, 1 }, { 500, 1 }, { 502, 1 }, { 503, 1 }, { 504, 1 },
		{ 599, 1 }, { 600, 0 },
	};
	size_t	 i;

	for (i = 0; i < NELEM(ms); i++)
		ck_assert_int_eq(azure_backoff_ms((int)i), ms[i]);
	ck_assert_int_eq(azure_backoff_ms(-3), 500);
	ck_assert_int_eq(azure_backoff_ms(1000), 30000);
	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(azure_retryable(t[i].status) == t[i].retry,
		    "status %ld", t[i].status);
}
END_TEST

START_TEST(test_azure_page)
{
	static const struct {
		const char	*json;
		int		 rc;
		size_t		 n;
		const char	*next;
	} t[] = {
		{ "{\"value\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", 0, 2, NULL },
		{ "{\"value\":[],\"nextLink\":null}", 0, 0, NULL },
		{ "{\"value\":[],\"nextLink\":\"\"}", 0, 0, NULL },
		{ "{\"value\":[{}],\"nextLink\":\"https://management.azure.com"
		    "/subscriptions/s/providers/x?api-version=1&$skiptoken=Z\"}",
		    0, 1, "https://management.azure.com/subscriptions/s/"
		    "providers/x?api-version=1&$skiptoken=Z" },
		{ "{\"value\":[],\"nextLink\":\"https://evil.example/x\"}",
		    -1, 0, NULL },
		{ "{\"value\":[],\"nextLink\":\"http://management.azure.com/"
		    "x\"}", -1, 0, NULL },
		{ "{\"value\":[],\"nextLink\":\"/subscriptions/x\"}", -1, 0,
		    NULL },
		{ "{\"value\":[],\"nextLink\":5}", -1, 0, NULL },
		{ "{\"value\":{}}", -1, 0, NULL },
		{ "{\"values\":[]}", -1, 0, NULL },
		{ "{\"error\":{\"code\":\"x\"}}", -1, 0, NULL },
		{ "[]", -1, 0, NULL },
	};
	json_object	*page, *value;
	const char	*next;
	char		 err[160];
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		page = json_tokener_parse(t[i].json);
		ck_assert_ptr_nonnull(page);
		err[0] = '\0';
		ck_assert_msg(azure_page(page, "https://management.azure.com",
		    &value, &next, err, sizeof(err)) == t[i].rc, "%s",
		    t[i].json);
		if (t[i].rc == 0) {
			ck_assert_uint_eq(json_object_array_length(value),
			    t[i].n);
			if (t[i].next == NULL)
				ck_assert_ptr_null(next);
			else
				ck_assert_str_eq(next, t[i].next);
		} else {
			ck_assert(err[0] != '\0');
			ck_assert_ptr_null(next);
		}
		json_object_put(page);
	}
}
END_TEST

START_TEST(test_azure_token_parse)
{
	static const struct {
		const char	*json;
		int		 rc;
		long		 expires;
	} t[] = {
		{ "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		    "\"access_token\":\"eyJ0.eyJ1.c2ln\"}", 0, 3599 },
		{ "{\"expires_in\":\"3600\",\"access_token\":\"t\"}", 0, 3600 },
		{ "{\"access_token\":\"t\"}", 0, 3600 },
		{ "{\"expires_in\":0,\"access_token\":\"t\"}", -1, 0 },
		{ "{\"expires_in\":-5,\"access_token\":\"t\"}", -1, 0 },
		{ "{\"expires_in\":\"soon\",\"access_token\":\"t\"}", -1, 0 },
		{ "{\"expires_in\":true,\"access_token\":\"t\"}", -1, 0 },
		{ "{\"expires_in\":99999999,\"access_token\":\"t\"}", -1, 0 },
		{ "{\"expires_in\":3600}", -1, 0 },
		{ "{\"access_token\":\"\"}", -1, 0 },
		{ "{\"access_token\":5}", -1, 0 },
		{ "{\"access_token\":\"a b\"}", -1, 0 },
		{ "{\"access_token\":\"a\\r\\nX-Evil: 1\"}", -1, 0 },
		{ "[\"access_token\"]", -1, 0 },
	};
	json_object	*o;
	const char	*tok;
	char		 err[160];
	long		 exp;
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		o = json_tokener_parse(t[i].json);
		ck_assert_ptr_nonnull(o);
		err[0] = '\0';
		ck_assert_msg(azure_token_parse(o, &tok, &exp, err,
		    sizeof(err)) == t[i].rc, "%s", t[i].json);
		if (t[i].rc == 0) {
			ck_assert_int_eq(exp, t[i].expires);
			ck_assert_ptr_nonnull(tok);
		} else {
			ck_assert(err[0] != '\0');
			ck_assert_ptr_null(tok);
		}
		json_object_put(o);
	}
}
END_TEST

START_TEST(test_azure_error_text)
{
	static const struct {
		const char	*json;
		const char	*want;
	} t[] = {
		{ "{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":"
		    "\"no access\"}}", "AuthorizationFailed: no access" },
		{ "{\"error\":{\"code\":\"X\"}}", "X" },
		{ "{\"error\":{\"message\":\"only text\"}}", "only text" },
		{ "{\"error\":\"invalid_client\",\"error_description\":"
		    "\"AADSTS7000215: Invalid client secret.\\r\\nTrace\"}",
		    "invalid_client: AADSTS7000215: Invalid client secret.  "
		    "Trace" },
		{ "{\"error\":5}", "" },
		{ "{\"message\":\"x\"}", "" },
		{ "[]", "" },
	};
	json_object	*o;
	char		 out[256], small[8];
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		o = json_tokener_parse(t[i].json);
		azure_error_text(o, out, sizeof(out));
		ck_assert_str_eq(out, t[i].want);
		json_object_put(o);
	}
	azure_error_text(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "");
	o = json_tokener_parse(t[0].json);
	azure_error_text(o, small, sizeof(small));
	ck_assert_str_eq(small, "Authori");
	json_object_put(o);
}
END_TEST

START_TEST(test_azure_config)
{
	static const char *const subs[] = { "sub-1", "sub-2" };
	static const char *const badsubs[] = { "sub-1", "../x" };
	struct azure_config	 good = {
		.tenant_id = "tenant-1", .client_id = "client-1",
		.client_secret = "s3cr3t-VALUE", .subscription_ids = subs,
		.nsubscriptions = 2,
		.authority_url = "https://login.microsoftonline.com",
		.arm_url = "https://management.azure.com",
	};
	struct azure_config	 c;
	struct connector	*conn;
	char			 err[256];

	conn = connector_azure_new(&good);
	ck_assert_ptr_nonnull(conn);
	ck_assert_str_eq(conn->type, "azure");
	conn->free(conn);
	/* Defaults for the URLs. */
	c = good;
	c.authority_url = NULL;
	c.arm_url = "";
	conn = connector_azure_new(&c);
	ck_assert_ptr_nonnull(conn);
	conn->free(conn);

	c = good;
	c.tenant_id = "a/b";
	ck_assert_ptr_null(connector_azure_new(&c));
	ck_assert_int_eq(connector_azure_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "tenant_id"));
	c = good;
	c.client_secret = "";
	ck_assert_int_eq(connector_azure_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "client_secret"));
	c = good;
	c.nsubscriptions = 0;
	ck_assert_int_eq(connector_azure_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "subscription_ids"));
	c = good;
	c.subscription_ids = badsubs;
	ck_assert_int_eq(connector_azure_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "subscription_ids[1]"));
	c = good;
	c.arm_url = "http://management.azure.com";
	ck_assert_int_eq(connector_azure_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "ARM URL"));
	ck_assert_ptr_null(strstr(err, "s3cr3t"));
	c = good;
	c.authority_url = "https://user:s3cr3t-VALUE@login.example";
	ck_assert_int_eq(connector_azure_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "authority URL"));
	ck_assert_ptr_null(strstr(err, "s3cr3t"));
	/* Nothing listens on port 9 of loopback: no verdict (-2, not a
	 * refusal), a clear network error, with no secret in it. */
	c = good;
	c.authority_url = "http://127.0.0.1:9";
	c.timeout_secs = 2;
	c.max_retries = 1;
	ck_assert_int_eq(connector_azure_check(&c, err, sizeof(err)), -2);
	ck_assert_ptr_nonnull(strstr(err, "POST /tenant-1/oauth2/v2.0/token"));
	ck_assert_ptr_null(strstr(err, "s3cr3t"));
}
END_TEST

Suite *
azure_suite(void)
{
	Suite	*s = suite_create("azure");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_azure_api_table);
	tcase_add_test(tc, test_azure_ids);
	tcase_add_test(tc, test_azure_base_origin);
	tcase_add_test(tc, test_azure_urls);
	tcase_add_test(tc, test_azure_retry_after);
	tcase_add_test(tc, test_azure_backoff_retryable);
	tcase_add_test(tc, test_azure_page);
	tcase_add_test(tc, test_azure_token_parse);
	tcase_add_test(tc, test_azure_error_text);
	tcase_add_test(tc, test_azure_config);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
