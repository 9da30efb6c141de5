-- cjmd schema, version 6: the token of the last committed batch, written in the batch's own
-- transaction. When the connection breaks while COMMIT's reply is on its way, the daemon
-- cannot tell whether the batch was committed; after reconnecting it compares this token
-- with the batch it was committing, and does not store the batch (its dead letters, which
-- have no id to deduplicate by) a second time.
ALTER TABLE cjm.engine_state ADD COLUMN last_batch_token bigint;
