-- An account's transactions are all its organization's, so the account's two indexes need not
-- repeat the organization: a list checks it once, on the account (sql::transaction_list). Each
-- entry is 36 bytes narrower, and every payment writes less into both (issue 27).
DROP INDEX transactions_by_account;
DROP INDEX transactions_by_account_emitted;
CREATE INDEX transactions_by_account ON transactions (bank_account_id, settled_at, emitted_at, id);
CREATE INDEX transactions_by_account_emitted ON transactions (bank_account_id, emitted_at, id);
