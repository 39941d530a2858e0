/* fuzz_rules.c: libFuzzer target for the rule loader and evaluator.
 * The input is parsed as a rule file; if it is one, each of its rules is
 * evaluated against a fixed resource (given the rule's type) and against
 * the input itself parsed as JSON. The input is also evaluated, as a
 * resource, by every rule of the shipped pack. Built by "make fuzz". */
#include "vigil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rules.h"
#include "vjson.h"

#ifndef FUZZ_RULES_DIR
#define FUZZ_RULES_DIR "etc/rules/azure"
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A resource with something for most paths and operators to find. */
static const char fixed_text[] =
"{\"name\":\"nsg\",\"type\":\"x\",\"id\":\"/subscriptions/s/x\","
"\"identity\":{\"type\":\"None\"},\"tags\":{\"cost-center\":\"1\"},"
"\"properties\":{\"securityRules\":["
"{\"name\":\"a\",\"properties\":{\"direction\":\"Inbound\","
"\"access\":\"Allow\",\"protocol\":\"*\",\"destinationPortRange\":\"20-25\","
"\"sourceAddressPrefix\":\"0.0.0.0/0\",\"priority\":100}},"
"{\"name\":\"b\",\"properties\":{\"direction\":\"inbound\","
"\"access\":\"allow\",\"protocol\":\"Udp\",\"destinationPortRanges\":"
"[\"80\",\"443\",\"1024-65535\",\"0-1023\",22,\"x\"],"
"\"sourceAddressPrefixes\":[\"10.0.0.0/8\",\"Internet\",\"::/0\","
"\"AzureLoadBalancer\",\"8000::/1\",\"1.2.3.4\"]}},null,7,[]],"
"\"supportsHttpsTrafficOnly\":false,\"minimumTlsVersion\":\"TLS1_0\","
"\"networkAcls\":{\"defaultAction\":\"Allow\"},\"retention\":\"1.5\","
"\"firewallRules\":[{\"properties\":{\"startIpAddress\":\"0.0.0.0\","
"\"endIpAddress\":\"255.255.255.255\"}}],\"n\":[1,2.5,-3,true,\"4\"],"
"\"siteConfig\":{\"minTlsVersion\":\"1.0\",\"ftpsState\":\"AllAllowed\"},"
"\"storageProfile\":{\"osDisk\":{\"vhd\":{\"uri\":\"u\"},"
"\"managedDisk\":{\"id\":\"d\"}},\"dataDisks\":[{\"vhd\":{}}]}}}";

static json_object	*fixed;
static struct ruleset	 pack;

static void
eval_one(const struct rule *r, json_object *res)
{
	json_object	*ev = NULL;
	int		 rc;

	rc = rules_eval(r, res, &ev);
	if (rc == 1) {
		if (ev == NULL || !json_object_is_type(ev, json_type_array))
			abort();
		(void)json_object_to_json_string(ev);
	} else if (ev != NULL)
		abort();
	json_object_put(ev);
}

/* Evaluate r over res with res's type set to r's, so every rule gets past
 * the type check; res must be an object. */
static void
eval_typed(const struct rule *r, json_object *res)
{
	if (!json_object_is_type(res, json_type_object))
		return;
	json_object_object_add(res, "type",
	    json_object_new_string(r->resource_type));
	eval_one(r, res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset		 set = { NULL, 0 };
	struct vjson_err	 jerr;
	json_object		*input, *o;
	char			 err[512];
	size_t			 i;

	if (fixed == NULL) {
		if ((fixed = json_tokener_parse(fixed_text)) == NULL)
			abort();
		if (rules_load_dir(&pack, FUZZ_RULES_DIR, err,
		    sizeof(err)) == -1)
			fprintf(stderr, "fuzz_rules: no pack: %s\n", err);
	}
	input = vjson_parse((const char *)data, size, VIGIL_MAX_JSON_DEPTH,
	    VIGIL_MAX_BODY, &jerr);
	if (rules_parse(&set, (const char *)data, size, "fuzz.json", err,
	    sizeof(err)) == 0) {
		if (set.n == 0 || input == NULL)
			abort();
		for (i = 0; i < set.n; i++) {
			eval_typed(&set.rules[i], fixed);
			eval_one(&set.rules[i], input);
			eval_typed(&set.rules[i], input);
			o = rules_to_json(&set.rules[i]);
			(void)json_object_to_json_string(o);
			json_object_put(o);
		}
	} else if (err[0] == '\0')
		abort();	/* a failure always says why */
	if (input != NULL)
		for (i = 0; i < pack.n; i++)
			eval_typed(&pack.rules[i], input);
	rules_free(&set);
	json_object_put(input);
	return 0;
}
