/* check_vigil.c: the one runner for every unit suite. */
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	Suite *(*suites[])(void) = {
		alerts_suite, armstream_suite, attachments_suite, attack_suite,
		audit_suite, azure_suite, backoff_suite, casereport_suite,
		channels_suite,
		importfmt_suite,
		buf_suite, cidr_suite, conf_suite, crypto_suite, events_suite,
		id_suite, inventory_suite, keys_suite,
		lifecycle_suite,
		log_suite, metadata_suite, metrics_suite, multipart_suite, netguard_suite, observable_suite, page_suite, posture_suite,
		idempotency_suite,
		mutes_suite,
		ratelimit_suite, ratetable_suite, render_suite, reports_suite,
		request_suite, router_suite,
		rules_suite,
		settings_suite, sign_suite, spool_suite, tenants_suite, text_suite,
		vjson_suite,
		vtime_suite,
		worker_suite,
		sla_suite,
		db_suite,
	};
	SRunner *sr;
	size_t i;
	int failed;

	sr = srunner_create(NULL);
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
