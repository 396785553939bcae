-- The read model as the first release (3900a97) created it on postgresql: create_all of its
-- models/tables.py (no complaints, claim_recusals, policy_status, complaint_payments; claims
-- without priority, history_len, sync_version, run_id; staff without signing keys).

CREATE TABLE audit_events (
	id SERIAL NOT NULL,
	case_id VARCHAR NOT NULL,
	seq INTEGER NOT NULL,
	kind VARCHAR NOT NULL,
	actor VARCHAR NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	data JSON NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_audit_case_seq UNIQUE (case_id, seq)
);

CREATE INDEX ix_audit_events_case_id ON audit_events (case_id);

CREATE INDEX ix_audit_events_kind ON audit_events (kind);

CREATE TABLE claims (
	claim_id VARCHAR NOT NULL,
	stage VARCHAR NOT NULL,
	line VARCHAR NOT NULL,
	incident_type VARCHAR NOT NULL,
	policy_no VARCHAR NOT NULL,
	insured_id_no VARCHAR,
	claimant_name VARCHAR NOT NULL,
	channel VARCHAR NOT NULL,
	reported_at TIMESTAMP WITH TIME ZONE NOT NULL,
	occurred_at TIMESTAMP WITH TIME ZONE,
	amount_claimed NUMERIC(16, 2) NOT NULL,
	payable_amount NUMERIC(16, 2),
	pending_level INTEGER,
	straight_through BOOLEAN NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	closed_at TIMESTAMP WITH TIME ZONE,
	status JSON NOT NULL,
	PRIMARY KEY (claim_id)
);

CREATE INDEX ix_claims_insured_id_no ON claims (insured_id_no);

CREATE INDEX ix_claims_line ON claims (line);

CREATE INDEX ix_claims_policy_no ON claims (policy_no);

CREATE INDEX ix_claims_reported_at ON claims (reported_at);

CREATE INDEX ix_claims_stage ON claims (stage);

CREATE INDEX ix_claims_stage_reported ON claims (stage, reported_at);

CREATE TABLE clauses (
	product_code VARCHAR NOT NULL,
	clause_id VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	title_zh VARCHAR NOT NULL,
	title_en VARCHAR NOT NULL,
	text_zh VARCHAR NOT NULL,
	text_en VARCHAR NOT NULL,
	PRIMARY KEY (product_code, clause_id)
);

CREATE TABLE letters (
	letter_id VARCHAR NOT NULL,
	case_id VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	language VARCHAR NOT NULL,
	channel VARCHAR NOT NULL,
	recipient VARCHAR NOT NULL,
	sent_at TIMESTAMP WITH TIME ZONE NOT NULL,
	sha256 VARCHAR NOT NULL,
	path VARCHAR NOT NULL,
	body VARCHAR NOT NULL,
	PRIMARY KEY (letter_id)
);

CREATE INDEX ix_letters_case_id ON letters (case_id);

CREATE TABLE payments (
	idempotency_key VARCHAR NOT NULL,
	claim_id VARCHAR NOT NULL,
	seq INTEGER NOT NULL,
	policy_no VARCHAR NOT NULL,
	amount NUMERIC(16, 2) NOT NULL,
	deductible_applied NUMERIC(16, 2) NOT NULL,
	payee VARCHAR NOT NULL,
	account_ref VARCHAR NOT NULL,
	reference VARCHAR NOT NULL,
	paid_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (idempotency_key)
);

CREATE INDEX ix_payments_claim_id ON payments (claim_id);

CREATE INDEX ix_payments_policy_no ON payments (policy_no);

CREATE TABLE policies (
	policy_no VARCHAR NOT NULL,
	line VARCHAR NOT NULL,
	product_code VARCHAR NOT NULL,
	insured_name VARCHAR NOT NULL,
	insured_id_no VARCHAR NOT NULL,
	start_date DATE NOT NULL,
	end_date DATE NOT NULL,
	status VARCHAR NOT NULL,
	terms JSON NOT NULL,
	PRIMARY KEY (policy_no)
);

CREATE INDEX ix_policies_insured_id_no ON policies (insured_id_no);

CREATE INDEX ix_policies_line ON policies (line);

CREATE TABLE staff (
	staff_id VARCHAR NOT NULL,
	name VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	roles JSON NOT NULL,
	active BOOLEAN NOT NULL,
	PRIMARY KEY (staff_id)
);

CREATE TABLE watch_list (
	id_no VARCHAR NOT NULL,
	reason VARCHAR NOT NULL,
	PRIMARY KEY (id_no)
);

CREATE TABLE work_items (
	key VARCHAR NOT NULL,
	case_id VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	role VARCHAR NOT NULL,
	level INTEGER NOT NULL,
	assignee VARCHAR,
	title VARCHAR NOT NULL,
	priority INTEGER NOT NULL,
	due_at TIMESTAMP WITH TIME ZONE,
	state VARCHAR NOT NULL,
	opened_at TIMESTAMP WITH TIME ZONE NOT NULL,
	closed_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (key)
);

CREATE INDEX ix_work_items_assignee ON work_items (assignee);

CREATE INDEX ix_work_items_case_id ON work_items (case_id);

CREATE INDEX ix_work_items_open_due ON work_items (state, due_at);
