-- migrate: restates triggers (run again after any older migration)
-- 0057: the findings AFTER triggers of 0056 restated with fewer
-- statements per row; every count means what it meant.
--
-- Why: 0055 and 0056 made a single state change through the triggers
-- (every action of the API: accept, resolve, snooze, dismiss ...) cost
-- the server about 441 us a row against 302-326 before. A statement in a
-- trigger costs about as much to start as its few row accesses: the
-- update trigger of a tagged finding ran some fifteen for an accept.
-- What changed, block by block (the blocks and their order as in 0048):
--   finding_counts, finding_rule_counts (update): the -1 of the old key
--     and the +1 of the new one in one upsert of two rows, each moved by
--     its own n (ON DUPLICATE KEY UPDATE n = n + VALUES(n)), where an
--     UPDATE and an upsert were two statements.
--   finding_meta_counts (update): its four -1 and four +1 in one upsert
--     of eight rows; the UPDATE of the -1 side, whose four-way OR went
--     through the range optimiser on every row, is gone. The delete
--     trigger takes its four back the same way (four rows of -1).
--   finding_resources (insert, update, delete): the procedures of 0014
--     (finding_resource_open and finding_resource_close, a CALL and
--     three to five statements each) written inline. Closing takes one
--     from n, then deletes the row if that was its last open finding
--     (n <= 0), and is told by ROW_COUNT() whether it did (then the
--     tenant counts one resource fewer): two statements where there were
--     four or five. The UPDATE comes first so that it holds the row and
--     the DELETE reads this transaction's n (under READ COMMITTED a
--     DELETE that matches nothing keeps no lock: deleting first, two
--     writers closing a resource's last two findings could both miss the
--     row at n <= 1 and leave it at 0).
--     Opening upserts and reads its row back, as the procedure did
--     (ROW_COUNT() after an INSERT ... ON DUPLICATE KEY UPDATE answers 0
--     in a trigger on MariaDB 10.11, so it cannot tell a new row). A row
--     exists only while n > 0, as before; the procedures stay (an older
--     migration run again calls them).
-- The other blocks are 0056's, statement for statement. Tried and left
-- out: the tag counts' -1 and +1 of a state change in one INSERT ...
-- SELECT, the entries read once and joined to the two sides (a derived
-- table of two rows, or a JSON_TABLE of [-1, 1]): it cost more than the
-- second read of the entries by their index. A count row
-- that a -1 finds missing is created at n = -1 where the UPDATE left it
-- missing: it can only be missing when the counts already differ from a
-- recount (every finding counted in a key keeps that key's row at n >= 1),
-- and test_counts.py holds every count against a recount.
--
-- Safe to run twice (CREATE OR REPLACE), and with the writers running:
-- each trigger keeps the same counts as the one it replaces, so a row
-- written between the three replacements is counted once whichever of
-- them it meets. Run again after an older migration (first line).

DELIMITER $$
CREATE OR REPLACE TRIGGER findings_after_insert AFTER INSERT ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL THEN
		-- findings_count_insert
		BEGIN
			INSERT INTO finding_counts VALUES (NEW.tenant_id,
			    NEW.state, NEW.severity, NEW.category,
			    NEW.subscription_id, NEW.environment, 1)
			ON DUPLICATE KEY UPDATE n = n + 1;
		END;
		-- findings_resource_insert (finding_resource_open, inline)
		BEGIN
			IF NEW.state = 'open' THEN
				INSERT INTO finding_resources VALUES (
				    NEW.tenant_id,
				    UNHEX(SHA2(NEW.resource_id, 256)), 1)
				ON DUPLICATE KEY UPDATE n = n + 1;
				-- the row this transaction holds, read back: 1
				-- is the resource's first open finding
				IF (SELECT n FROM finding_resources
				    WHERE tenant_id = NEW.tenant_id AND
				    resource_hash = UNHEX(SHA2(NEW.resource_id,
				    256))) = 1 THEN
					INSERT INTO finding_tenant_counts VALUES (
					    NEW.tenant_id, 1)
					ON DUPLICATE KEY UPDATE
					    open_resources = open_resources + 1;
				END IF;
			END IF;
		END;
		-- findings_tags_insert
		BEGIN
			IF NEW.tags <> '{}' THEN
				INSERT IGNORE INTO finding_tags (tenant_id, tag_key,
				    tag_value, finding_seq, finding_state,
				    finding_severity)
				SELECT NEW.tenant_id, k.k, v.v, NEW.seq, NEW.state,
				    NEW.severity
				  FROM JSON_TABLE(JSON_KEYS(NEW.tags), '$[*]'
				    COLUMNS (n FOR ORDINALITY,
				    k VARCHAR(256) PATH '$')) k
				  JOIN JSON_TABLE(NEW.tags, '$.*'
				    COLUMNS (n FOR ORDINALITY,
				    v VARCHAR(256) PATH '$')) v
				 USING (n);
			END IF;
		END;
		-- finding_tag_counts (0055): from the rows just written
		BEGIN
			IF NEW.tags <> '{}' THEN
				INSERT INTO finding_tag_counts
				SELECT g.tenant_id, g.tag_key, g.tag_value,
				    NEW.state, NEW.severity, 1
				  FROM finding_tags g
				 WHERE g.finding_seq = NEW.seq
				ON DUPLICATE KEY UPDATE n = n + VALUES(n);
			END IF;
		END;
		-- finding_meta_counts (0055)
		BEGIN
			INSERT INTO finding_meta_counts VALUES
			    (NEW.tenant_id, 1, NEW.resource_type, '',
			    NEW.state, NEW.severity, 1),
			    (NEW.tenant_id, 2, NEW.resource_group, '',
			    NEW.state, NEW.severity, 1),
			    (NEW.tenant_id, 3, NEW.region, '',
			    NEW.state, NEW.severity, 1),
			    (NEW.tenant_id, 4, '', NEW.source,
			    NEW.state, NEW.severity, 1)
			ON DUPLICATE KEY UPDATE n = n + 1;
		END;
		-- findings_due_count_insert
		BEGIN
			IF NEW.due_at IS NOT NULL THEN
				INSERT INTO finding_due_counts VALUES (
				    NEW.tenant_id, DATE(NEW.due_at),
				    NEW.severity, 1)
				ON DUPLICATE KEY UPDATE n = n + 1;
			END IF;
		END;
		-- findings_rule_count_insert
		BEGIN
			INSERT INTO finding_rule_counts VALUES (NEW.tenant_id,
			    NEW.rule_id, NEW.state, 1)
			ON DUPLICATE KEY UPDATE n = n + 1;
		END;
	END IF;
END
$$
DELIMITER ;

DELIMITER $$
CREATE OR REPLACE TRIGGER findings_after_update AFTER UPDATE ON findings
FOR EACH ROW
BEGIN
	IF @vigil_batch IS NULL THEN
		-- Nothing a body below counts changed (a rescan's
		-- last_seen_at, an assignee): no body would do anything, and
		-- this one test costs less than theirs (measured: 12 against
		-- 18 us a row). An IF of its own: joined to the guard above
		-- with AND, it cost 4 us a row more while @vigil_batch is set.
		IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
		    OLD.state <=> NEW.state AND
		    OLD.severity <=> NEW.severity AND
		    OLD.category <=> NEW.category AND
		    OLD.subscription_id <=> NEW.subscription_id AND
		    OLD.environment <=> NEW.environment AND
		    OLD.resource_id <=> NEW.resource_id AND
		    OLD.rule_id <=> NEW.rule_id AND OLD.tags <=> NEW.tags AND
		    DATE(OLD.due_at) <=> DATE(NEW.due_at) AND
		    OLD.resource_type <=> NEW.resource_type AND
		    OLD.resource_group <=> NEW.resource_group AND
		    OLD.region <=> NEW.region AND
		    OLD.source <=> NEW.source) THEN
			-- findings_count_update (0057: one upsert, -1 and +1)
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.state <=> NEW.state AND
				    OLD.severity <=> NEW.severity AND
				    OLD.category <=> NEW.category AND
				    OLD.subscription_id <=> NEW.subscription_id AND
				    OLD.environment <=> NEW.environment) THEN
					INSERT INTO finding_counts VALUES (
					    OLD.tenant_id, OLD.state, OLD.severity,
					    OLD.category, OLD.subscription_id,
					    OLD.environment, -1), (
					    NEW.tenant_id, NEW.state, NEW.severity,
					    NEW.category, NEW.subscription_id,
					    NEW.environment, 1)
					ON DUPLICATE KEY UPDATE n = n + VALUES(n);
				END IF;
			END;
			-- findings_resource_update (0014's procedures, inline)
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.resource_id <=> NEW.resource_id AND
				    (OLD.state = 'open') <=> (NEW.state = 'open')) THEN
					IF OLD.state = 'open' THEN
						-- one fewer; at its last open
						-- finding the row goes and the
						-- tenant counts one fewer (the
						-- UPDATE first: it holds the row,
						-- so the DELETE reads this
						-- transaction's n, as 0014 did)
						UPDATE finding_resources
						   SET n = n - 1
						 WHERE tenant_id = OLD.tenant_id AND
						    resource_hash = UNHEX(SHA2(
						    OLD.resource_id, 256));
						DELETE FROM finding_resources
						 WHERE tenant_id = OLD.tenant_id AND
						    resource_hash = UNHEX(SHA2(
						    OLD.resource_id, 256)) AND n <= 0;
						IF ROW_COUNT() > 0 THEN
							UPDATE finding_tenant_counts
							   SET open_resources =
							    open_resources - 1
							 WHERE tenant_id = OLD.tenant_id;
						END IF;
					END IF;
					IF NEW.state = 'open' THEN
						INSERT INTO finding_resources VALUES (
						    NEW.tenant_id,
						    UNHEX(SHA2(NEW.resource_id, 256)),
						    1)
						ON DUPLICATE KEY UPDATE n = n + 1;
						IF (SELECT n FROM finding_resources
						    WHERE tenant_id = NEW.tenant_id AND
						    resource_hash = UNHEX(SHA2(
						    NEW.resource_id, 256))) = 1 THEN
							INSERT INTO finding_tenant_counts
							VALUES (NEW.tenant_id, 1)
							ON DUPLICATE KEY UPDATE
							    open_resources =
							    open_resources + 1;
						END IF;
					END IF;
				END IF;
			END;
			-- finding_tag_counts (0055): the old tags' rows, read
			-- before the block below replaces them
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.state <=> NEW.state AND
				    OLD.severity <=> NEW.severity AND
				    OLD.tags <=> NEW.tags) AND OLD.tags <> '{}' THEN
					INSERT INTO finding_tag_counts
					SELECT g.tenant_id, g.tag_key,
					    g.tag_value, OLD.state,
					    OLD.severity, -1
					  FROM finding_tags g
					 WHERE g.finding_seq = OLD.seq
					ON DUPLICATE KEY UPDATE
					    n = n + VALUES(n);
				END IF;
			END;
			-- findings_tags_update
			BEGIN
				IF NOT (OLD.tags <=> NEW.tags) THEN
					DELETE FROM finding_tags
					 WHERE finding_seq = OLD.seq;
					INSERT IGNORE INTO finding_tags (tenant_id,
					    tag_key, tag_value, finding_seq,
					    finding_state, finding_severity)
					SELECT NEW.tenant_id, k.k, v.v, NEW.seq,
					    NEW.state, NEW.severity
					  FROM JSON_TABLE(JSON_KEYS(NEW.tags), '$[*]'
					    COLUMNS (n FOR ORDINALITY,
					    k VARCHAR(256) PATH '$')) k
					  JOIN JSON_TABLE(NEW.tags, '$.*'
					    COLUMNS (n FOR ORDINALITY,
					    v VARCHAR(256) PATH '$')) v
					 USING (n);
				ELSEIF NEW.tags <> '{}' AND
				    NOT (OLD.state <=> NEW.state AND
				    OLD.severity <=> NEW.severity) THEN
					-- the entries carry the finding's state
					-- and severity (0056)
					UPDATE finding_tags
					   SET finding_state = NEW.state,
					    finding_severity = NEW.severity
					 WHERE finding_seq = NEW.seq;
				END IF;
			END;
			-- finding_tag_counts (0055): the new tags' rows
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.state <=> NEW.state AND
				    OLD.severity <=> NEW.severity AND
				    OLD.tags <=> NEW.tags) AND NEW.tags <> '{}' THEN
					INSERT INTO finding_tag_counts
					SELECT g.tenant_id, g.tag_key,
					    g.tag_value, NEW.state,
					    NEW.severity, 1
					  FROM finding_tags g
					 WHERE g.finding_seq = NEW.seq
					ON DUPLICATE KEY UPDATE
					    n = n + VALUES(n);
				END IF;
			END;
			-- finding_meta_counts (0055; 0057: one upsert, the four
			-- -1 and the four +1)
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.state <=> NEW.state AND
				    OLD.severity <=> NEW.severity AND
				    OLD.resource_type <=> NEW.resource_type AND
				    OLD.resource_group <=> NEW.resource_group AND
				    OLD.region <=> NEW.region AND
				    OLD.source <=> NEW.source) THEN
					INSERT INTO finding_meta_counts VALUES
					    (OLD.tenant_id, 1, OLD.resource_type,
					    '', OLD.state, OLD.severity, -1),
					    (OLD.tenant_id, 2, OLD.resource_group,
					    '', OLD.state, OLD.severity, -1),
					    (OLD.tenant_id, 3, OLD.region, '',
					    OLD.state, OLD.severity, -1),
					    (OLD.tenant_id, 4, '', OLD.source,
					    OLD.state, OLD.severity, -1),
					    (NEW.tenant_id, 1, NEW.resource_type,
					    '', NEW.state, NEW.severity, 1),
					    (NEW.tenant_id, 2, NEW.resource_group,
					    '', NEW.state, NEW.severity, 1),
					    (NEW.tenant_id, 3, NEW.region, '',
					    NEW.state, NEW.severity, 1),
					    (NEW.tenant_id, 4, '', NEW.source,
					    NEW.state, NEW.severity, 1)
					ON DUPLICATE KEY UPDATE n = n + VALUES(n);
				END IF;
			END;
			-- findings_due_count_update
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    DATE(OLD.due_at) <=> DATE(NEW.due_at) AND
				    OLD.severity <=> NEW.severity) THEN
					IF OLD.due_at IS NOT NULL THEN
						UPDATE finding_due_counts SET n = n - 1
						 WHERE tenant_id = OLD.tenant_id AND
						    due_day = DATE(OLD.due_at) AND
						    severity = OLD.severity;
					END IF;
					IF NEW.due_at IS NOT NULL THEN
						INSERT INTO finding_due_counts VALUES (
						    NEW.tenant_id, DATE(NEW.due_at),
						    NEW.severity, 1)
						ON DUPLICATE KEY UPDATE n = n + 1;
					END IF;
				END IF;
			END;
			-- findings_rule_count_update (0057: one upsert)
			BEGIN
				IF NOT (OLD.tenant_id <=> NEW.tenant_id AND
				    OLD.rule_id <=> NEW.rule_id AND
				    OLD.state <=> NEW.state) THEN
					INSERT INTO finding_rule_counts VALUES (
					    OLD.tenant_id, OLD.rule_id, OLD.state,
					    -1), (NEW.tenant_id, NEW.rule_id,
					    NEW.state, 1)
					ON DUPLICATE KEY UPDATE n = n + VALUES(n);
				END IF;
			END;
			-- findings_daily_resolved (its declarations only when it has
			-- work: MariaDB runs each DECLARE as a statement, 0047)
			IF NEW.state = 'resolved' AND NOT (OLD.state <=> 'resolved') AND
			    NEW.resolved_at IS NOT NULL THEN
				BEGIN
					DECLARE v_tracked, v_within INT DEFAULT 0;

					SET v_tracked = OLD.due_at IS NOT NULL OR
					    OLD.sla_left_s IS NOT NULL;
					SET v_within = (OLD.due_at IS NOT NULL AND
					    NEW.resolved_at <= OLD.due_at) OR
					    (OLD.due_at IS NULL AND
					    OLD.sla_left_s IS NOT NULL AND
					    OLD.sla_left_s >= 0);
					INSERT INTO finding_daily (tenant_id, day,
					    severity, resolved, resolve_seconds,
					    resolved_sla, resolved_in_sla)
					VALUES (NEW.tenant_id, DATE(NEW.resolved_at),
					    NEW.severity, 1, GREATEST(0,
					    TIMESTAMPDIFF(SECOND, NEW.detected_at,
					    NEW.resolved_at)), v_tracked, v_within)
					ON DUPLICATE KEY UPDATE resolved = resolved + 1,
					    resolve_seconds = resolve_seconds +
					    GREATEST(0, TIMESTAMPDIFF(SECOND,
					    NEW.detected_at, NEW.resolved_at)),
					    resolved_sla = resolved_sla + v_tracked,
					    resolved_in_sla = resolved_in_sla +
					    v_within;
				END;
			END IF;
		END IF;
	END IF;
END
$$
DELIMITER ;

DELIMITER $$
CREATE OR REPLACE TRIGGER findings_after_delete AFTER DELETE ON findings
FOR EACH ROW
BEGIN
	-- findings_count_delete
	BEGIN
		UPDATE finding_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND state = OLD.state AND
		    severity = OLD.severity AND category = OLD.category AND
		    subscription_id = OLD.subscription_id AND
		    environment = OLD.environment;
	END;
	-- findings_resource_delete (finding_resource_close, inline)
	BEGIN
		IF OLD.state = 'open' THEN
			-- the UPDATE first, as above
			UPDATE finding_resources SET n = n - 1
			 WHERE tenant_id = OLD.tenant_id AND
			    resource_hash = UNHEX(SHA2(OLD.resource_id, 256));
			DELETE FROM finding_resources
			 WHERE tenant_id = OLD.tenant_id AND
			    resource_hash = UNHEX(SHA2(OLD.resource_id, 256)) AND
			    n <= 0;
			IF ROW_COUNT() > 0 THEN
				UPDATE finding_tenant_counts
				   SET open_resources = open_resources - 1
				 WHERE tenant_id = OLD.tenant_id;
			END IF;
		END IF;
	END;
	-- finding_tag_counts (0055): before the block below deletes the rows
	BEGIN
		IF OLD.tags <> '{}' THEN
			INSERT INTO finding_tag_counts
			SELECT g.tenant_id, g.tag_key, g.tag_value, OLD.state,
			    OLD.severity, -1
			  FROM finding_tags g
			 WHERE g.finding_seq = OLD.seq
			ON DUPLICATE KEY UPDATE n = n + VALUES(n);
		END IF;
	END;
	-- finding_meta_counts (0055; 0057: an upsert of four -1)
	BEGIN
		INSERT INTO finding_meta_counts VALUES
		    (OLD.tenant_id, 1, OLD.resource_type, '', OLD.state,
		    OLD.severity, -1),
		    (OLD.tenant_id, 2, OLD.resource_group, '', OLD.state,
		    OLD.severity, -1),
		    (OLD.tenant_id, 3, OLD.region, '', OLD.state,
		    OLD.severity, -1),
		    (OLD.tenant_id, 4, '', OLD.source, OLD.state,
		    OLD.severity, -1)
		ON DUPLICATE KEY UPDATE n = n + VALUES(n);
	END;
	-- findings_tags_delete
	BEGIN
		IF OLD.tags <> '{}' THEN
			DELETE FROM finding_tags WHERE finding_seq = OLD.seq;
		END IF;
	END;
	-- findings_due_count_delete
	BEGIN
		IF OLD.due_at IS NOT NULL THEN
			UPDATE finding_due_counts SET n = n - 1
			 WHERE tenant_id = OLD.tenant_id AND
			    due_day = DATE(OLD.due_at) AND
			    severity = OLD.severity;
		END IF;
	END;
	-- findings_rule_count_delete
	BEGIN
		UPDATE finding_rule_counts SET n = n - 1
		 WHERE tenant_id = OLD.tenant_id AND rule_id = OLD.rule_id AND
		    state = OLD.state;
	END;
END
$$
DELIMITER ;
