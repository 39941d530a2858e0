/* suites.h: one Check suite per module, all run by check_vigil. */
#ifndef VIGIL_SUITES_H
#define VIGIL_SUITES_H

#include <check.h>

Suite	*alerts_suite(void);
Suite	*armstream_suite(void);
Suite	*attachments_suite(void);
Suite	*attack_suite(void);
Suite	*audit_suite(void);
Suite	*azure_suite(void);
Suite	*casereport_suite(void);
Suite	*backoff_suite(void);
Suite	*buf_suite(void);
Suite	*cidr_suite(void);
Suite	*observable_suite(void);
Suite	*conf_suite(void);
Suite	*crypto_suite(void);
Suite	*db_suite(void);
Suite	*events_suite(void);
Suite	*channels_suite(void);
Suite	*id_suite(void);
Suite	*importfmt_suite(void);
Suite	*inventory_suite(void);
Suite	*keys_suite(void);
Suite	*lifecycle_suite(void);
Suite	*idempotency_suite(void);
Suite	*mutes_suite(void);
Suite	*log_suite(void);
Suite	*metadata_suite(void);
Suite	*metrics_suite(void);
Suite	*multipart_suite(void);
Suite	*netguard_suite(void);
Suite	*page_suite(void);
Suite	*posture_suite(void);
Suite	*ratelimit_suite(void);
Suite	*ratetable_suite(void);
Suite	*render_suite(void);
Suite	*reports_suite(void);
Suite	*request_suite(void);
Suite	*router_suite(void);
Suite	*rules_suite(void);
Suite	*settings_suite(void);
Suite	*sign_suite(void);
Suite	*sla_suite(void);
Suite	*spool_suite(void);
Suite	*tenants_suite(void);
Suite	*text_suite(void);
Suite	*vjson_suite(void);
Suite	*vtime_suite(void);
Suite	*worker_suite(void);

#endif
